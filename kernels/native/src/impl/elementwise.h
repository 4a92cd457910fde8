// The element-wise and row-wise kernels, written once over F (simd-avx512.h, simd-avx2.h), with
// ggml's numerics: RMSNorm sums squares in f64, then scales and weighs in two f32 steps; SiLU is
// x / (1 + e^-x); softmax subtracts the row's maximum; the KV cache holds f16 rounded to nearest
// even.

static void rmsNormRows(float* out, const float* x, const float* weight, int begin, int end, int dim, float eps) {
  for (int t = begin; t < end; t++) {
    const float* row = x + static_cast<size_t>(t) * dim;
    float* o = out + static_cast<size_t>(t) * dim;
    int i;
    double sum = F::sumSquares(row, dim, &i);
    for (; i < dim; i++) {
      const float sq = row[i] * row[i];
      sum += sq;
    }
    const float mean = static_cast<float>(sum / dim);
    const float scale = 1.0f / __builtin_sqrtf(mean + eps);
    const F::V s = F::set1(scale);
    i = 0;
    for (; i + F::W <= dim; i += F::W) F::store(o + i, F::mul(F::mul(F::load(row + i), s), F::load(weight + i)));
    for (; i < dim; i++) {
      const float scaled = row[i] * scale;
      o[i] = scaled * weight[i];
    }
  }
}

// rotates pairs of each head by its token's row of `table` ([position][pair] = cos, sin):
// adjacent pairs (2i, 2i+1) or, for NeoX, (i, i + headDim/2)
static void ropeRows(float* x, const int32_t* positions, const float* table, int begin, int end, int numHeads, int headDim, bool neox) {
  const int half = headDim / 2;
  for (int t = begin; t < end; t++) {
    const float* angles = table + static_cast<size_t>(positions[t]) * headDim;
    for (int h = 0; h < numHeads; h++) {
      float* v = x + (static_cast<size_t>(t) * numHeads + h) * headDim;
      for (int i = 0; i < half; i++) {
        const float c = angles[2 * i], s = angles[2 * i + 1];
        const int a = neox ? i : 2 * i;
        const int b = neox ? i + half : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        const float r0 = x0 * c, r1 = x1 * s, r2 = x0 * s, r3 = x1 * c;
        v[a] = r0 - r1;
        v[b] = r2 + r3;
      }
    }
  }
}

static void siluMulRange(float* out, const float* gate, const float* up, int64_t begin, int64_t end) {
  int64_t i = begin;
  const F::V one = F::set1(1.0f), negOne = F::set1(-1.0f);
  for (; i + F::W <= end; i += F::W) {
    const F::V g = F::load(gate + i);
    const F::V silu = F::div(g, F::add(one, F::exp(F::mul(g, negOne))));
    F::store(out + i, F::mul(silu, F::load(up + i)));
  }
  for (; i < end; i++) {
    const float g = gate[i];
    const float silu = g / (1.0f + __builtin_expf(-g));
    out[i] = silu * up[i];
  }
}

static void addRange(float* x, const float* y, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + F::W <= end; i += F::W) F::store(x + i, F::add(F::load(x + i), F::load(y + i)));
  for (; i < end; i++) x[i] += y[i];
}

static void softmaxRows(float* out, const float* logits, const float* invTemperature, int begin, int end, int vocab) {
  for (int t = begin; t < end; t++) {
    const float* l = logits + static_cast<size_t>(t) * vocab;
    float* o = out + static_cast<size_t>(t) * vocab;
    const F::V it = F::set1(invTemperature[t]);
    F::V mv = F::set1(-__builtin_inff());
    int i = 0;
    for (; i + F::W <= vocab; i += F::W) mv = F::max(mv, F::mul(F::load(l + i), it));
    float max = F::hmax(mv);
    for (; i < vocab; i++) {
      const float v = l[i] * invTemperature[t];
      if (v > max) max = v;
    }
    const F::V m = F::set1(max);
    F::V sv = F::zero();
    i = 0;
    for (; i + F::W <= vocab; i += F::W) {
      const F::V e = F::exp(F::sub(F::mul(F::load(l + i), it), m));
      F::store(o + i, e);
      sv = F::add(sv, e);
    }
    float sum = F::hsum(sv);
    for (; i < vocab; i++) {
      o[i] = __builtin_expf(l[i] * invTemperature[t] - max);
      sum += o[i];
    }
    const F::V inv = F::set1(1.0f / sum);
    i = 0;
    for (; i + F::W <= vocab; i += F::W) F::store(o + i, F::mul(F::load(o + i), inv));
    for (; i < vocab; i++) o[i] *= 1.0f / sum;
  }
}

static void storeKvRows(uint16_t* keys, uint16_t* values, const float* k, const float* v, const int32_t* slots, int begin, int end, int kvDim) {
  for (int t = begin; t < end; t++) {
    uint16_t* kd = keys + static_cast<size_t>(slots[t]) * kvDim;
    uint16_t* vd = values + static_cast<size_t>(slots[t]) * kvDim;
    const float* ks = k + static_cast<size_t>(t) * kvDim;
    const float* vs = v + static_cast<size_t>(t) * kvDim;
    int i = 0;
    for (; i + F::W <= kvDim; i += F::W) {
      F::storeHalf(kd + i, F::load(ks + i));
      F::storeHalf(vd + i, F::load(vs + i));
    }
    for (; i < kvDim; i++) {
      kd[i] = floatToHalf(ks[i]);
      vd[i] = floatToHalf(vs[i]);
    }
  }
}
