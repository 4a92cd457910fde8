// The AVX2 path (AVX2, FMA, F16C): the same kernels as the AVX-512 one, 256 bits at a time, for
// x86-64 CPUs without AVX-512 VNNI. Compiled like isa-avx512.cc, in an anonymous namespace.
#include "isa.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

#include "ggml-blocks.h"
#include "half.h"

namespace jn {
namespace {
#include "impl/simd-avx2.h"
#include "impl/quantize.h"
#include "impl/elementwise.h"
#include "impl/attention.h"
#include "impl/matmul-tiles.h"
#include "impl/matmul-avx2.h"

const IsaKernels TABLE = {
    Isa::avx2, quantizeRows, matmulPanels, attentionUnits, rmsNormRows, ropeRows, siluMulRange, addRange, softmaxRows, storeKvRows,
};
}  // namespace

const IsaKernels* avx2Kernels() { return &TABLE; }
}  // namespace jn

#else
namespace jn {
const IsaKernels* avx2Kernels() { return nullptr; }
}  // namespace jn
#endif
