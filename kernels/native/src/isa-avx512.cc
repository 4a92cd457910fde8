// The AVX-512 VNNI path: every kernel of impl/ compiled for AVX-512 F/BW/VL with VNNI (and AVX2,
// FMA, F16C), inside an anonymous namespace so that none of its code can stand in for another
// file's at link time. Used only where cpu-features.cc finds the CPU has all of it.
#include "isa.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#include <immintrin.h>

#include "ggml-blocks.h"
#include "half.h"

namespace jn {
namespace {
#include "impl/simd-avx512.h"
#include "impl/quantize.h"
#include "impl/elementwise.h"
#include "impl/attention.h"
#include "impl/matmul-tiles.h"
#include "impl/matmul-avx512.h"

const IsaKernels TABLE = {
    Isa::avx512vnni, quantizeRows, matmulPanels, attentionUnits, rmsNormRows, ropeRows, siluMulRange, addRange, softmaxRows, storeKvRows,
};
}  // namespace

const IsaKernels* avx512Kernels() { return &TABLE; }
}  // namespace jn

#else
namespace jn {
const IsaKernels* avx512Kernels() { return nullptr; }
}  // namespace jn
#endif
