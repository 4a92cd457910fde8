#include "context.h"

#include <stdexcept>

namespace jn {

namespace {

const IsaKernels* kernelsFor(Isa isa) {
  if (!isaSupported(isa)) throw std::invalid_argument(std::string("this CPU cannot run the ") + isaName(isa) + " kernels (it has: " + featureList() + ")");
  const IsaKernels* k = isa == Isa::avx512vnni ? avx512Kernels() : isa == Isa::avx2 ? avx2Kernels() : nullptr;
  if (!k) throw std::invalid_argument(std::string("this build has no ") + isaName(isa) + " kernels");
  return k;
}

}  // namespace

Context::Context(int threads, Isa isa) : pool(threads), kernels(kernelsFor(isa)) {}

uint8_t* Context::scratch(size_t bytes) {
  // 64 bytes of slack: every array carved from it starts on a 64-byte boundary
  if (scratch_.size() < bytes + 64) scratch_.resize(bytes + 64);
  auto at = reinterpret_cast<uintptr_t>(scratch_.data());
  return reinterpret_cast<uint8_t*>((at + 63) & ~uintptr_t{63});
}

float* Context::attentionScratch(size_t floatsPerThread) {
  const size_t need = floatsPerThread * pool.threads() + 16;
  if (attention_.size() < need) attention_.resize(need);
  auto at = reinterpret_cast<uintptr_t>(attention_.data());
  return reinterpret_cast<float*>((at + 63) & ~uintptr_t{63});
}

}  // namespace jn
