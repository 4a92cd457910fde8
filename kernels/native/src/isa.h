// The kernels of one SIMD path, as a table of functions: ops.cc picks the table of the best path
// the CPU has (or the one asked for) and never names an instruction itself.
#pragma once
#include <cstdint>

#include "isa-id.h"
#include "kernel-args.h"

namespace jn {

struct IsaKernels {
  Isa isa;
  // tokens [begin, end) of x [n, a.cols] into a (its kind chosen by the caller)
  void (*quantize)(const float* x, int begin, int end, Activations& a);
  // panels [begin, end) of t.w against every activation row
  void (*matmul)(const MatmulTask& t, int begin, int end);
  // attention units [begin, end); `thread` picks the scratch
  void (*attention)(const AttentionTask& t, int begin, int end, int thread);
  // rows [begin, end) of out[n, dim] = x / sqrt(mean(x^2) + eps) * weight
  void (*rmsNorm)(float* out, const float* x, const float* weight, int begin, int end, int dim, float eps);
  // rows [begin, end) of x[n, numHeads * headDim] rotated by the table [positions, headDim / 2, 2]
  void (*rope)(float* x, const int32_t* positions, const float* table, int begin, int end, int numHeads, int headDim, bool neox);
  // values [begin, end) of out = silu(gate) * up
  void (*siluMul)(float* out, const float* gate, const float* up, int64_t begin, int64_t end);
  // values [begin, end) of x += y
  void (*add)(float* x, const float* y, int64_t begin, int64_t end);
  // rows [begin, end) of out[n, vocab] = softmax(logits * invTemperature[row])
  void (*softmax)(float* out, const float* logits, const float* invTemperature, int begin, int end, int vocab);
  // tokens [begin, end): keys/values[slot[t]] = f16(k[t]), f16(v[t])
  void (*storeKv)(uint16_t* keys, uint16_t* values, const float* k, const float* v, const int32_t* slots, int begin, int end, int kvDim);
};

// The tables, defined in isa-avx512.cc and isa-avx2.cc (null where the build has no such path).
const IsaKernels* avx512Kernels();
const IsaKernels* avx2Kernels();

}  // namespace jn
