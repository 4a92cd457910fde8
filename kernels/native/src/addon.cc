// The N-API face of the native kernels (lib/backends/native/ calls it): every argument is checked
// here (types, and every buffer against the size the call will touch), so that a wrong call is
// a JavaScript exception, never a write out of bounds.
#include <napi.h>

#include <memory>
#include <string>

#include "context.h"
#include "cpu-features.h"
#include "mapped-files.h"
#include "matrix-cache.h"
#include "ops.h"

namespace {

using jn::Context;

struct MatrixHandle {
  std::shared_ptr<const jn::Panels> panels;
};

template <typename T>
constexpr napi_typedarray_type typedArrayTypeOf();
template <>
constexpr napi_typedarray_type typedArrayTypeOf<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<uint16_t>() { return napi_uint16_array; }
template <>
constexpr napi_typedarray_type typedArrayTypeOf<uint8_t>() { return napi_uint8_array; }

// The data of argument `i`, a typed array of T holding at least `need` elements.
template <typename T>
T* arrayArg(const Napi::CallbackInfo& info, size_t i, size_t need, const char* what) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (info.Length() <= i || napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != typedArrayTypeOf<T>()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array of the right element type");
  }
  if (length < need) throw Napi::RangeError::New(info.Env(), std::string(what) + " holds " + std::to_string(length) + " values; the call needs " + std::to_string(need));
  return static_cast<T*>(data);
}

int intArg(const Napi::CallbackInfo& info, size_t i, int min, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= 2147483647.0) || v != static_cast<double>(static_cast<int64_t>(v))) throw Napi::RangeError::New(info.Env(), std::string(what) + " must be an integer of at least " + std::to_string(min));
  return static_cast<int>(v);
}

Context& contextArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "the first argument must be a native kernels context");
  return *info[0].As<Napi::External<Context>>().Data();
}

const jn::Panels& matrixArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "a matrix argument must be a loaded native matrix");
  MatrixHandle* h = info[i].As<Napi::External<MatrixHandle>>().Data();
  if (!h->panels) throw Napi::Error::New(info.Env(), "the matrix was released");
  return *h->panels;
}

size_t mul(size_t a, size_t b) { return a * b; }

Napi::Value Cpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("best", jn::isaName(jn::bestIsa()));
  out.Set("features", jn::featureList());
  Napi::Array paths = Napi::Array::New(env);
  uint32_t n = 0;
  for (jn::Isa isa : {jn::Isa::avx512vnni, jn::Isa::avx2}) {
    if (jn::isaSupported(isa)) paths.Set(n++, jn::isaName(isa));
  }
  out.Set("paths", paths);
  return out;
}

Napi::Value CreateContext(const Napi::CallbackInfo& info) {
  const int threads = intArg(info, 0, 1, "threads");
  const std::string name = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "auto";
  jn::Isa isa = jn::bestIsa();
  if (name == "avx512-vnni") isa = jn::Isa::avx512vnni;
  else if (name == "avx2") isa = jn::Isa::avx2;
  else if (name != "auto") throw Napi::RangeError::New(info.Env(), "unknown native path " + name + " (auto, avx512-vnni, avx2)");
  try {
    return Napi::External<Context>::New(info.Env(), new Context(threads, isa), [](Napi::Env, Context* c) { delete c; });
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("isa", jn::isaName(c.kernels->isa));
  out.Set("threads", c.pool.threads());
  out.Set("teamRuns", static_cast<double>(c.pool.teamRuns()));
  out.Set("soloRuns", static_cast<double>(c.pool.soloRuns()));
  return out;
}

// An ArrayBuffer over the whole mapped file, shared by every thread of the process.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "the path must be a string");
  jn::Mapping m;
  try {
    m = jn::mapFile(info[0].As<Napi::String>().Utf8Value());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return Napi::ArrayBuffer::New(info.Env(), const_cast<uint8_t*>(m.data), m.size, [](Napi::Env, void*) {});
}

Napi::Value LoadMatrix(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (info.Length() < 2 || napi_get_typedarray_info(info.Env(), info[1], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "the matrix's bytes must be a Uint8Array");
  }
  const int ggmlType = intArg(info, 2, 0, "type");
  const int rows = intArg(info, 3, 1, "rows");
  const int cols = intArg(info, 4, 1, "cols");
  const std::string key = info.Length() > 5 && info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : std::string();
  const bool releaseSource = info.Length() > 6 && info[6].ToBoolean().Value();
  try {
    auto* handle = new MatrixHandle{jn::loadMatrix(static_cast<const uint8_t*>(data), length, ggmlType, rows, cols, key, c.pool, releaseSource)};
    return Napi::External<MatrixHandle>::New(info.Env(), handle, [](Napi::Env, MatrixHandle* h) { delete h; });
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

Napi::Value ReleaseMatrix(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "not a native matrix");
  info[0].As<Napi::External<MatrixHandle>>().Data()->panels.reset();
  return info.Env().Undefined();
}

// matmul(ctx, out, x, matrix, n)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const jn::Panels& w = matrixArg(info, 3);
  const int n = intArg(info, 4, 0, "n");
  float* out = arrayArg<float>(info, 1, mul(n, w.rows), "out");
  const float* x = arrayArg<float>(info, 2, mul(n, w.cols), "x");
  if (n > 0) jn::opMatmul(c, out, x, w, n);
  return info.Env().Undefined();
}

// embed(ctx, out, tokenIds, matrix, n)
Napi::Value Embed(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const jn::Panels& table = matrixArg(info, 3);
  const int n = intArg(info, 4, 0, "n");
  float* out = arrayArg<float>(info, 1, mul(n, table.cols), "out");
  const int32_t* ids = arrayArg<int32_t>(info, 2, n, "tokenIds");
  for (int t = 0; t < n; t++) {
    if (ids[t] < 0 || ids[t] >= table.rows) throw Napi::RangeError::New(info.Env(), "token id " + std::to_string(ids[t]) + " is outside the embedding's " + std::to_string(table.rows) + " rows");
  }
  jn::opEmbed(c, out, ids, table, n);
  return info.Env().Undefined();
}

// rmsNorm(ctx, out, x, weight, n, dim, eps)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int n = intArg(info, 4, 0, "n");
  const int dim = intArg(info, 5, 1, "dim");
  float* out = arrayArg<float>(info, 1, mul(n, dim), "out");
  const float* x = arrayArg<float>(info, 2, mul(n, dim), "x");
  const float* w = arrayArg<float>(info, 3, dim, "weight");
  const float eps = info[6].As<Napi::Number>().FloatValue();
  jn::opRmsNorm(c, out, x, w, n, dim, eps);
  return info.Env().Undefined();
}

// rope(ctx, x, positions, table, n, numHeads, headDim, neox, tablePositions)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int n = intArg(info, 4, 0, "n");
  const int heads = intArg(info, 5, 1, "numHeads");
  const int headDim = intArg(info, 6, 2, "headDim");
  const bool neox = info[7].ToBoolean().Value();
  const int tablePositions = intArg(info, 8, 1, "table positions");
  float* x = arrayArg<float>(info, 1, mul(mul(n, heads), headDim), "x");
  const int32_t* positions = arrayArg<int32_t>(info, 2, n, "positions");
  const float* table = arrayArg<float>(info, 3, mul(tablePositions, headDim), "table");
  for (int t = 0; t < n; t++) {
    if (positions[t] < 0 || positions[t] >= tablePositions) throw Napi::RangeError::New(info.Env(), "position " + std::to_string(positions[t]) + " is beyond the context length " + std::to_string(tablePositions));
  }
  jn::opRope(c, x, positions, table, n, heads, headDim, neox);
  return info.Env().Undefined();
}

// storeKv(ctx, keys, values, k, v, slotMapping, n, kvDim)
Napi::Value StoreKv(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int n = intArg(info, 6, 0, "n");
  const int kvDim = intArg(info, 7, 1, "kvDim");
  napi_typedarray_type type;
  size_t keySlots;
  void* unused;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(info.Env(), info[1], &type, &keySlots, &unused, &buffer, &offset);
  const size_t slots = keySlots / kvDim;
  uint16_t* keys = arrayArg<uint16_t>(info, 1, mul(slots, kvDim), "keys");
  uint16_t* values = arrayArg<uint16_t>(info, 2, mul(slots, kvDim), "values");
  const float* k = arrayArg<float>(info, 3, mul(n, kvDim), "k");
  const float* v = arrayArg<float>(info, 4, mul(n, kvDim), "v");
  const int32_t* mapping = arrayArg<int32_t>(info, 5, n, "slotMapping");
  for (int t = 0; t < n; t++) {
    if (mapping[t] < 0 || static_cast<size_t>(mapping[t]) >= slots) throw Napi::RangeError::New(info.Env(), "KV slot " + std::to_string(mapping[t]) + " is outside the cache");
  }
  jn::opStoreKv(c, keys, values, k, v, mapping, n, kvDim);
  return info.Env().Undefined();
}

// attention(ctx, out, q, keys, values, blockTables, tokenSeq, positions, n, numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  jn::AttentionTask t{};
  t.n = intArg(info, 8, 0, "n");
  t.numHeads = intArg(info, 9, 1, "numHeads");
  t.numKvHeads = intArg(info, 10, 1, "numKvHeads");
  t.headDim = intArg(info, 11, 1, "headDim");
  t.blockSize = intArg(info, 12, 1, "blockSize");
  t.maxBlocksPerSeq = intArg(info, 13, 1, "maxBlocksPerSeq");
  if (t.numHeads % t.numKvHeads != 0) throw Napi::RangeError::New(info.Env(), "numHeads must be a multiple of numKvHeads");
  const size_t qDim = mul(t.numHeads, t.headDim), kvDim = mul(t.numKvHeads, t.headDim);
  t.out = arrayArg<float>(info, 1, mul(t.n, qDim), "out");
  t.q = arrayArg<float>(info, 2, mul(t.n, qDim), "q");
  napi_typedarray_type type;
  size_t keyValues;
  void* unused;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(info.Env(), info[3], &type, &keyValues, &unused, &buffer, &offset);
  const size_t slots = keyValues / kvDim;
  t.keys = arrayArg<uint16_t>(info, 3, mul(slots, kvDim), "keys");
  t.values = arrayArg<uint16_t>(info, 4, mul(slots, kvDim), "values");
  t.tokenSeq = arrayArg<int32_t>(info, 6, t.n, "tokenSeq");
  t.positions = arrayArg<int32_t>(info, 7, t.n, "positions");
  int seqs = 0;
  for (int i = 0; i < t.n; i++) {
    if (t.tokenSeq[i] < 0) throw Napi::RangeError::New(info.Env(), "a token's sequence row is negative");
    if (t.tokenSeq[i] + 1 > seqs) seqs = t.tokenSeq[i] + 1;
  }
  t.blockTables = arrayArg<int32_t>(info, 5, mul(seqs, t.maxBlocksPerSeq), "blockTables");
  for (int i = 0; i < t.n; i++) {
    const int32_t p = t.positions[i];
    if (p < 0 || p / t.blockSize >= t.maxBlocksPerSeq) throw Napi::RangeError::New(info.Env(), "position " + std::to_string(p) + " is beyond the block table");
    const int32_t* table = t.blockTables + static_cast<size_t>(t.tokenSeq[i]) * t.maxBlocksPerSeq;
    for (int b = 0; b <= p / t.blockSize; b++) {
      if (table[b] < 0 || static_cast<size_t>(table[b] + 1) * t.blockSize > slots) throw Napi::RangeError::New(info.Env(), "KV block " + std::to_string(table[b]) + " is outside the cache");
    }
  }
  t.scale = 1.0f / __builtin_sqrtf(static_cast<float>(t.headDim));
  if (t.n > 0) jn::opAttention(c, t);
  return info.Env().Undefined();
}

// siluMul(ctx, out, gate, up, count)
Napi::Value SiluMul(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int count = intArg(info, 4, 0, "count");
  float* out = arrayArg<float>(info, 1, count, "out");
  const float* gate = arrayArg<float>(info, 2, count, "gate");
  const float* up = arrayArg<float>(info, 3, count, "up");
  jn::opSiluMul(c, out, gate, up, count);
  return info.Env().Undefined();
}

// addInPlace(ctx, x, y, count)
Napi::Value AddInPlace(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int count = intArg(info, 3, 0, "count");
  float* x = arrayArg<float>(info, 1, count, "x");
  const float* y = arrayArg<float>(info, 2, count, "y");
  jn::opAdd(c, x, y, count);
  return info.Env().Undefined();
}

// addBias(ctx, x, bias, n, width)
Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int n = intArg(info, 3, 0, "n");
  const int width = intArg(info, 4, 1, "width");
  float* x = arrayArg<float>(info, 1, mul(n, width), "x");
  const float* bias = arrayArg<float>(info, 2, width, "bias");
  jn::opAddBias(c, x, bias, n, width);
  return info.Env().Undefined();
}

// softmax(ctx, out, logits, invTemperature, n, vocab)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Context& c = contextArg(info);
  const int n = intArg(info, 4, 0, "n");
  const int vocab = intArg(info, 5, 1, "vocab");
  float* out = arrayArg<float>(info, 1, mul(n, vocab), "out");
  const float* logits = arrayArg<float>(info, 2, mul(n, vocab), "logits");
  const float* inv = arrayArg<float>(info, 3, n, "invTemperature");
  jn::opSoftmax(c, out, logits, inv, n, vocab);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("cpu", Napi::Function::New(env, Cpu));
  exports.Set("createContext", Napi::Function::New(env, CreateContext));
  exports.Set("poolStats", Napi::Function::New(env, PoolStats));
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("loadMatrix", Napi::Function::New(env, LoadMatrix));
  exports.Set("releaseMatrix", Napi::Function::New(env, ReleaseMatrix));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("embed", Napi::Function::New(env, Embed));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("storeKv", Napi::Function::New(env, StoreKv));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("siluMul", Napi::Function::New(env, SiluMul));
  exports.Set("addInPlace", Napi::Function::New(env, AddInPlace));
  exports.Set("addBias", Napi::Function::New(env, AddBias));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  return exports;
}

}  // namespace

NODE_API_MODULE(journey_native, Init)
