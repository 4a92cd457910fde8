// What the op drivers (ops.cc) hand the SIMD kernels: plain structs, no code, so that files
// compiled for different targets share them safely.
#pragma once
#include <cstddef>
#include <cstdint>

#include "panel-format.h"

namespace jn {

// What a matmul converts its activations to first, as llama.cpp's vec_dot_type of the weights.
enum class DotKind : int { f32 = 0, f16 = 1, bf16 = 2, q8_0 = 3, q8_k = 4 };

// Activations [n, cols] in their dot kind. q8_0: int8 quants, the f16-rounded scale of each
// 32-value block, the block's Σq and llama.cpp's Q8_1 sum f16(d·Σq). q8_k: int8 quants, the
// f32 scale of each 256-value super-block, the Σq of each 16 values and of each 32 values.
// f16 and bf16: the values rounded, as f32.
struct Activations {
  DotKind kind;
  int cols;
  int8_t* qs;        // [n, cols]
  float* d;          // [n, blocks]
  int32_t* sums;     // q8_0: [n, cols / 32]
  float* s;          // q8_0: [n, cols / 32]
  int16_t* bsums16;  // q8_k: [n, cols / 16]
  int16_t* bsums32;  // q8_k: [n, cols / 32]
  const float* x;    // f32: the input itself; f16, bf16: the rounded copy
  float* rounded;    // f16, bf16: [n, cols]
};

struct MatmulTask {
  const Panels* w;
  const Activations* a;
  int n;
  float* out;  // [n, w->rows]
};

struct AttentionTask {
  float* out;                 // [n, numHeads * headDim]
  const float* q;             // [n, numHeads * headDim]
  const uint16_t* keys;       // [slots, numKvHeads * headDim] f16
  const uint16_t* values;     // [slots, numKvHeads * headDim] f16
  const int32_t* blockTables; // [seqs, maxBlocksPerSeq]
  const int32_t* tokenSeq;    // [n]
  const int32_t* positions;   // [n]
  // work units: runs of tokens of one sequence (at most a tile), as [unitStart[i], unitStart[i + 1])
  const int32_t* unitStart;
  int numUnits;
  int n, numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq;
  float scale;
  float* scratch;             // per thread: scratchFloats floats each
  size_t scratchFloats;
};

}  // namespace jn
