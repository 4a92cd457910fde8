// What this CPU can run, read once with cpuid (and xgetbv: the OS must save the wider registers
// too). The addon is compiled for baseline x86-64; each SIMD path is compiled with its own target
// and chosen here, at run time, so one build runs on any x86-64 machine.
#pragma once
#include <string>

#include "isa-id.h"

namespace jn {

struct CpuFeatures {
  bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16, avxvnni;
};

const CpuFeatures& cpuFeatures();

// The best path this CPU has: avx512-vnni (AVX-512 F/BW/VL with VNNI), else avx2 (AVX2, FMA and
// F16C), else none (the wasm backend serves such machines).
Isa bestIsa();
bool isaSupported(Isa isa);
const char* isaName(Isa isa);
// The feature names the CPU reports, for the start-up line and bug reports.
std::string featureList();

}  // namespace jn
