// One engine's native kernels: its SIMD path, its threads and its scratch. An engine (one per
// worker thread) owns one; nothing in it is shared with other engines.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cpu-features.h"
#include "isa.h"
#include "thread-pool.h"

namespace jn {

class Context {
 public:
  // `isa`: the path to run, which the CPU must have. Throws std::invalid_argument otherwise.
  Context(int threads, Isa isa);

  ThreadPool pool;
  const IsaKernels* kernels;

  // Scratch that grows to the largest call and stays: the activations of a matmul, and each
  // thread's attention buffers.
  uint8_t* scratch(size_t bytes);
  float* attentionScratch(size_t floatsPerThread);

 private:
  std::vector<uint8_t> scratch_;
  std::vector<float> attention_;
};

}  // namespace jn
