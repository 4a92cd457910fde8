#include "thread-pool.h"

#include <chrono>
#include <climits>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace jn {

namespace {

using Clock = std::chrono::steady_clock;

// How long an idle helper spins before it sleeps: longer than the gap between two kernels of a
// step (JavaScript runs between them), much shorter than the gap between two steps.
constexpr auto SPIN_BEFORE_SLEEP = std::chrono::microseconds(300);
// The fallback: when waiting for helpers takes more than this share of the calls on average...
constexpr double MAX_WAIT_SHARE = 0.3;
// ...this many calls run on the caller alone before the helpers are tried again.
constexpr int SOLO_CALLS = 4096;

inline void pause() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

void futexWait(std::atomic<uint32_t>* word, uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
  while (word->load(std::memory_order_acquire) == expected) std::this_thread::yield();
#endif
}

void futexWakeAll(std::atomic<uint32_t>* word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
#else
  (void)word;
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < threads_; i++) helpers_.emplace_back([this, i] { helperLoop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  futexWakeAll(&epoch_);
  for (auto& t : helpers_) t.join();
}

bool ThreadPool::claimAndRun(uint32_t epoch, int thread) {
  const ChunkFn fn = fn_.load(std::memory_order_relaxed);
  void* const ctx = ctx_.load(std::memory_order_relaxed);
  const int units = units_.load(std::memory_order_relaxed);
  const int grain = grain_.load(std::memory_order_relaxed);
  bool any = false;
  uint64_t cur = next_.load(std::memory_order_acquire);
  for (;;) {
    // the counter names its epoch: a claim for another task fails, whatever fields were read
    if (static_cast<uint32_t>(cur >> 32) != epoch) return any;
    const int begin = static_cast<int>(cur & 0xffffffffu);
    if (begin >= units) return any;
    const int end = begin + grain < units ? begin + grain : units;
    if (!next_.compare_exchange_weak(cur, (static_cast<uint64_t>(epoch) << 32) | static_cast<uint32_t>(end), std::memory_order_acq_rel)) continue;
    fn(ctx, begin, end, thread);
    done_.fetch_add(end - begin, std::memory_order_release);
    any = true;
    cur = next_.load(std::memory_order_acquire);
  }
}

void ThreadPool::helperLoop(int index) {
  uint32_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    uint32_t epoch;
    auto spinStart = Clock::now();
    int polls = 0;
    while ((epoch = epoch_.load(std::memory_order_acquire)) == seen) {
      pause();
      if (++polls % 256 != 0) continue;
      if (Clock::now() - spinStart < SPIN_BEFORE_SLEEP) continue;
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      futexWait(&epoch_, seen);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      spinStart = Clock::now();
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = epoch;
    claimAndRun(epoch, index);
  }
}

void ThreadPool::run(int units, int grain, ChunkFn fn, void* ctx) {
  if (units <= 0) return;
  if (grain < 1) grain = 1;
  if (threads_ == 1 || units <= grain || soloLeft_ > 0) {
    if (soloLeft_ > 0) soloLeft_--;
    soloRuns_++;
    fn(ctx, 0, units, 0);
    return;
  }
  teamRuns_++;
  const auto start = Clock::now();
  fn_.store(fn, std::memory_order_relaxed);
  ctx_.store(ctx, std::memory_order_relaxed);
  units_.store(units, std::memory_order_relaxed);
  grain_.store(grain, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
  next_.store(static_cast<uint64_t>(epoch) << 32, std::memory_order_release);
  epoch_.store(epoch, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) futexWakeAll(&epoch_);

  claimAndRun(epoch, 0);
  const auto ownDone = Clock::now();
  for (int polls = 0; done_.load(std::memory_order_acquire) < units; polls++) {
    if (polls < 1 << 14) pause();
    else std::this_thread::yield();
  }
  const auto end = Clock::now();
  const double total = std::chrono::duration<double>(end - start).count();
  const double waited = std::chrono::duration<double>(end - ownDone).count();
  waitShare_ = 0.9 * waitShare_ + 0.1 * (total > 0 ? waited / total : 0);
  if (waitShare_ > MAX_WAIT_SHARE) {
    soloLeft_ = SOLO_CALLS;
    waitShare_ = 0;
  }
}

}  // namespace jn
