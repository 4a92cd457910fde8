#include "ops.h"

#include <cstring>

#include "ggml-blocks.h"

namespace jn {

namespace {

// Below this many multiply-adds (or values, for the element-wise ops) a call runs on the calling
// thread: a hand-off costs a microsecond or two, about what this much work takes.
constexpr int64_t MIN_PARALLEL_WORK = 1 << 17;
// Chunks per thread a call is cut into: enough that a late or busy thread holds up little.
constexpr int CHUNKS_PER_THREAD = 4;

int grainFor(const Context& c, int units, int64_t work) {
  if (work < MIN_PARALLEL_WORK || units < 2) return units;
  const int chunks = c.pool.threads() * CHUNKS_PER_THREAD;
  return units < chunks ? 1 : (units + chunks - 1) / chunks;
}

size_t align64(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

// Carves the activations of n rows of `cols` in `kind` out of the context's scratch.
Activations activationsFor(Context& c, DotKind kind, int n, int cols) {
  Activations a{};
  a.kind = kind;
  a.cols = cols;
  const size_t rows = static_cast<size_t>(n);
  size_t bytes = 0;
  size_t qsAt = 0, dAt = 0, sumsAt = 0, sAt = 0, b16At = 0, b32At = 0, roundedAt = 0;
  switch (kind) {
    case DotKind::q8_0: {
      const size_t blocks = rows * (cols / 32);
      qsAt = bytes, bytes += align64(rows * cols);
      dAt = bytes, bytes += align64(blocks * 4);
      sumsAt = bytes, bytes += align64(blocks * 4);
      sAt = bytes, bytes += align64(blocks * 4);
      break;
    }
    case DotKind::q8_k:
      qsAt = bytes, bytes += align64(rows * cols);
      dAt = bytes, bytes += align64(rows * (cols / 256) * 4);
      b16At = bytes, bytes += align64(rows * (cols / 16) * 2);
      b32At = bytes, bytes += align64(rows * (cols / 32) * 2);
      break;
    case DotKind::f16:
    case DotKind::bf16:
      roundedAt = bytes, bytes += align64(rows * cols * 4);
      break;
    case DotKind::f32:
      break;
  }
  uint8_t* base = c.scratch(bytes);
  a.qs = reinterpret_cast<int8_t*>(base + qsAt);
  a.d = reinterpret_cast<float*>(base + dAt);
  a.sums = reinterpret_cast<int32_t*>(base + sumsAt);
  a.s = reinterpret_cast<float*>(base + sAt);
  a.bsums16 = reinterpret_cast<int16_t*>(base + b16At);
  a.bsums32 = reinterpret_cast<int16_t*>(base + b32At);
  a.rounded = reinterpret_cast<float*>(base + roundedAt);
  return a;
}

struct QuantizeJob {
  const IsaKernels* k;
  const float* x;
  Activations* a;
};

void quantizeChunk(void* ctx, int begin, int end, int) {
  auto* job = static_cast<QuantizeJob*>(ctx);
  job->k->quantize(job->x, begin, end, *job->a);
}

void matmulChunk(void* ctx, int begin, int end, int) {
  auto* job = static_cast<std::pair<const IsaKernels*, const MatmulTask*>*>(ctx);
  job->first->matmul(*job->second, begin, end);
}

}  // namespace

DotKind dotKindOf(const PanelFormat& f) {
  if (f.family == Family::legacy) return DotKind::q8_0;
  if (f.family == Family::kquant) return DotKind::q8_k;
  return f.type == GGML_F32 ? DotKind::f32 : f.type == GGML_F16 ? DotKind::f16 : DotKind::bf16;
}

void opMatmul(Context& c, float* out, const float* x, const Panels& w, int n) {
  const DotKind kind = dotKindOf(*w.format);
  Activations a = activationsFor(c, kind, n, w.cols);
  a.x = x;
  if (kind != DotKind::f32) {
    QuantizeJob job{c.kernels, x, &a};
    c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * w.cols * 16), quantizeChunk, &job);
  }
  if (kind == DotKind::f16 || kind == DotKind::bf16) a.x = a.rounded;
  const MatmulTask task{&w, &a, n, out};
  std::pair<const IsaKernels*, const MatmulTask*> job{c.kernels, &task};
  c.pool.run(w.numPanels, grainFor(c, w.numPanels, static_cast<int64_t>(n) * w.rows * w.cols), matmulChunk, &job);
}

namespace {

struct EmbedJob {
  float* out;
  const int32_t* ids;
  const Panels* table;
};

void embedChunk(void* ctx, int begin, int end, int) {
  auto* job = static_cast<EmbedJob*>(ctx);
  for (int t = begin; t < end; t++) dequantizeRow(*job->table, job->ids[t], job->out + static_cast<size_t>(t) * job->table->cols);
}

}  // namespace

void opEmbed(Context& c, float* out, const int32_t* tokenIds, const Panels& table, int n) {
  EmbedJob job{out, tokenIds, &table};
  c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * table.cols * 8), embedChunk, &job);
}

namespace {

struct RowsJob {
  const IsaKernels* k;
  float* out;
  const float* x;
  const float* w;
  const int32_t* ints;
  int dim, heads, headDim;
  float eps;
  bool flag;
};

void rmsNormChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<RowsJob*>(ctx);
  j->k->rmsNorm(j->out, j->x, j->w, begin, end, j->dim, j->eps);
}

void ropeChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<RowsJob*>(ctx);
  j->k->rope(j->out, j->ints, j->w, begin, end, j->heads, j->headDim, j->flag);
}

void softmaxChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<RowsJob*>(ctx);
  j->k->softmax(j->out, j->x, j->w, begin, end, j->dim);
}

}  // namespace

void opRmsNorm(Context& c, float* out, const float* x, const float* weight, int n, int dim, float eps) {
  RowsJob job{c.kernels, out, x, weight, nullptr, dim, 0, 0, eps, false};
  c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * dim), rmsNormChunk, &job);
}

void opRope(Context& c, float* x, const int32_t* positions, const float* table, int n, int numHeads, int headDim, bool neox) {
  RowsJob job{c.kernels, x, nullptr, table, positions, 0, numHeads, headDim, 0, neox};
  c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * numHeads * headDim), ropeChunk, &job);
}

void opSoftmax(Context& c, float* out, const float* logits, const float* invTemperature, int n, int vocab) {
  RowsJob job{c.kernels, out, logits, invTemperature, nullptr, vocab, 0, 0, 0, false};
  c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * vocab * 8), softmaxChunk, &job);
}

namespace {

struct KvJob {
  const IsaKernels* k;
  uint16_t *keys, *values;
  const float *kk, *vv;
  const int32_t* slots;
  int kvDim;
};

void storeKvChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<KvJob*>(ctx);
  j->k->storeKv(j->keys, j->values, j->kk, j->vv, j->slots, begin, end, j->kvDim);
}

}  // namespace

void opStoreKv(Context& c, uint16_t* keys, uint16_t* values, const float* k, const float* v, const int32_t* slots, int n, int kvDim) {
  KvJob job{c.kernels, keys, values, k, v, slots, kvDim};
  c.pool.run(n, grainFor(c, n, static_cast<int64_t>(n) * kvDim * 2), storeKvChunk, &job);
}

namespace {

struct FlatJob {
  const IsaKernels* k;
  float* out;
  const float* a;
  const float* b;
  int64_t count;
  int64_t step;
};

void siluChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<FlatJob*>(ctx);
  const int64_t from = begin * j->step;
  const int64_t to = end * j->step < j->count ? end * j->step : j->count;
  j->k->siluMul(j->out, j->a, j->b, from, to);
}

void addChunk(void* ctx, int begin, int end, int) {
  auto* j = static_cast<FlatJob*>(ctx);
  const int64_t from = begin * j->step;
  const int64_t to = end * j->step < j->count ? end * j->step : j->count;
  j->k->add(j->out, j->b, from, to);
}

// Splits `count` values into pieces of 1024 for the pool.
void runFlat(Context& c, FlatJob& job, int64_t weight, ChunkFn fn) {
  job.step = 1024;
  const int units = static_cast<int>((job.count + job.step - 1) / job.step);
  c.pool.run(units, grainFor(c, units, job.count * weight), fn, &job);
}

}  // namespace

void opSiluMul(Context& c, float* out, const float* gate, const float* up, int64_t count) {
  FlatJob job{c.kernels, out, gate, up, count, 0};
  runFlat(c, job, 8, siluChunk);
}

void opAdd(Context& c, float* x, const float* y, int64_t count) {
  FlatJob job{c.kernels, x, nullptr, y, count, 0};
  runFlat(c, job, 1, addChunk);
}

void opAddBias(Context& c, float* x, const float* bias, int n, int width) {
  // a bias is a row added to every row: the add kernel, once per row
  for (int t = 0; t < n; t++) c.kernels->add(x + static_cast<size_t>(t) * width, bias, 0, width);
}

namespace {

void attentionChunk(void* ctx, int begin, int end, int thread) {
  auto* j = static_cast<std::pair<const IsaKernels*, const AttentionTask*>*>(ctx);
  j->first->attention(*j->second, begin, end, thread);
}

}  // namespace

void opAttention(Context& c, AttentionTask task) {
  const int group = task.numHeads / task.numKvHeads;
  // a unit is a run of consecutive tokens of one sequence (their queries share every key and
  // value row read) with one KV head: at most 8 queries, so that their sums stay in registers
  const int maxRun = group >= 8 ? 1 : 8 / group;
  auto* starts = reinterpret_cast<int32_t*>(c.scratch(static_cast<size_t>(task.n + 1) * 4));
  int runs = 0;
  int longest = 0;
  for (int t = 0; t < task.n; t++) {
    const bool extends = t > 0 && t - starts[runs - 1] < maxRun && task.tokenSeq[t] == task.tokenSeq[t - 1] && task.positions[t] == task.positions[t - 1] + 1;
    if (!extends) starts[runs++] = t;
    if (task.positions[t] + 1 > longest) longest = task.positions[t] + 1;
  }
  starts[runs] = task.n;
  task.unitStart = starts;
  task.numUnits = runs * task.numKvHeads;
  const int queries = maxRun * group;
  const size_t context = (static_cast<size_t>(longest) + 15) & ~size_t{15};
  // per thread: the unit's KV slots, its queries rounded, their scores and their partial sums
  // of up to 16 positions at a time (attention.h)
  task.scratchFloats = (context + static_cast<size_t>(queries) * (task.headDim + 16 + context + 256) + 15) & ~size_t{15};
  task.scratch = c.attentionScratch(task.scratchFloats);
  std::pair<const IsaKernels*, const AttentionTask*> job{c.kernels, &task};
  const int64_t work = static_cast<int64_t>(task.n) * task.numHeads * task.headDim * longest;
  c.pool.run(task.numUnits, grainFor(c, task.numUnits, work), attentionChunk, &job);
}

}  // namespace jn
