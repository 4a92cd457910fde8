// One engine's threads: the calling thread and T - 1 helpers that share each kernel call.
//
// A call is split into chunks that threads claim from one counter, so every unit is computed by
// exactly one thread (the same bits at any thread count) and a helper that the OS has not
// scheduled simply claims nothing: the others take its share. Idle helpers spin briefly (the
// kernels of a step follow each other within microseconds), then sleep on a futex and cost
// nothing. A helper descheduled in the middle of its chunk still makes the caller wait for it:
// when such waits take a large part of the calls (another process holds a core), the pool runs
// calls on the calling thread alone for a while, then tries its helpers again.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace jn {

// Computes units [begin, end) on thread `thread` (0 is the caller).
using ChunkFn = void (*)(void* ctx, int begin, int end, int thread);

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Runs fn over units [0, units) in chunks of `grain` units; returns when all are done.
  void run(int units, int grain, ChunkFn fn, void* ctx);

  // Calls run on the caller alone since the pool started (the busy-machine fallback), for tests
  // and the start-up line.
  uint64_t soloRuns() const { return soloRuns_; }
  uint64_t teamRuns() const { return teamRuns_; }

 private:
  void helperLoop(int index);
  bool claimAndRun(uint32_t epoch, int thread);

  const int threads_;
  std::vector<std::thread> helpers_;
  // the current task; read by helpers only after they see its epoch, and claimed against it
  std::atomic<ChunkFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> units_{0};
  std::atomic<int> grain_{1};
  alignas(64) std::atomic<uint32_t> epoch_{0};
  // (epoch << 32) | next unit: a helper still holding an older epoch cannot claim from this one
  alignas(64) std::atomic<uint64_t> next_{0};
  alignas(64) std::atomic<int> done_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  // busy-machine fallback: an average of the share of a call spent waiting for helpers
  double waitShare_ = 0;
  int soloLeft_ = 0;
  uint64_t soloRuns_ = 0;
  uint64_t teamRuns_ = 0;
};

}  // namespace jn
