#include "cpu-features.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define JN_X86 1
#endif

namespace jn {

namespace {

#ifdef JN_X86
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f{};
#ifdef JN_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12);
  const bool f16c = c & (1u << 29);
  if (!osxsave) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymmSaved = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool zmmSaved = (xcr0 & 0xe6) == 0xe6;   // plus opmask and both halves of ZMM
  if (!ymmSaved) return f;
  f.fma = fma;
  f.f16c = f16c;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = b & (1u << 5);
    if (zmmSaved) {
      f.avx512f = b & (1u << 16);
      f.avx512bw = b & (1u << 30);
      f.avx512vl = b & (1u << 31);
      f.avx512vnni = c & (1u << 11);
    }
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    f.avxvnni = a & (1u << 4);
    if (zmmSaved) f.avx512bf16 = a & (1u << 5);
  }
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures features = detect();
  return features;
}

bool isaSupported(Isa isa) {
  const CpuFeatures& f = cpuFeatures();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::avx512vnni:
      return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
    case Isa::avx2:
      return avx2;
    default:
      return false;
  }
}

Isa bestIsa() {
  if (isaSupported(Isa::avx512vnni)) return Isa::avx512vnni;
  if (isaSupported(Isa::avx2)) return Isa::avx2;
  return Isa::none;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::avx512vnni:
      return "avx512-vnni";
    case Isa::avx2:
      return "avx2";
    default:
      return "none";
  }
}

std::string featureList() {
  const CpuFeatures& f = cpuFeatures();
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx512bf16, "avx512bf16");
  add(f.avxvnni, "avxvnni");
  return out;
}

}  // namespace jn
