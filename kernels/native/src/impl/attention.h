// Causal grouped-query attention over the paged f16 KV cache, written once over F, with the
// numerics of llama.cpp's attention without flash attention: q rounded to f16, each score the
// f32 dot product of q with a key, scaled; softmax over the row; the weights rounded to f16
// before they weigh the values.
//
// A unit is a run of consecutive tokens of one sequence with one KV head: its queries (the
// run's tokens times the query heads that share the KV head) read each key and value row once.
// Every query's arithmetic is the same in any unit, so a token's result does not depend on how
// it was batched: a score is a sum over the head's values folded lane by lane (F::hsum's order,
// F::hsumEach computing W of them at once), and a value sum runs over positions in order.

static void attentionUnits(const AttentionTask& t, int begin, int end, int thread) {
  constexpr int W = F::W;
  const int group = t.numHeads / t.numKvHeads;
  const int qDim = t.numHeads * t.headDim;
  const int kvDim = t.numKvHeads * t.headDim;
  // a head of headDim values is `chunks` vectors, the last one partial where W does not divide it
  const int chunks = (t.headDim + W - 1) / W;
  const int last = t.headDim - (chunks - 1) * W;  // values in the last vector
  const int qStride = chunks * W;                  // a rounded query, zero-padded to whole vectors
  float* scratch = t.scratch + t.scratchFloats * thread;
  for (int u = begin; u < end; u++) {
    const int run = u / t.numKvHeads;
    const int kvh = u % t.numKvHeads;
    const int t0 = t.unitStart[run];
    const int tokens = t.unitStart[run + 1] - t0;
    const int queries = tokens * group;
    const int context = t.positions[t0 + tokens - 1] + 1;
    const int padded = (context + W - 1) / W * W;
    const int32_t* table = t.blockTables + static_cast<size_t>(t.tokenSeq[t0]) * t.maxBlocksPerSeq;
    // scratch: slots [padded], q rounded [queries][qStride], scores [queries][padded], partials [queries][W][W]
    int32_t* slots = reinterpret_cast<int32_t*>(scratch);
    float* qr = scratch + padded;
    float* scores = qr + static_cast<size_t>(queries) * qStride;
    float* partial = scores + static_cast<size_t>(queries) * padded;
    for (int p = 0; p < context; p++) slots[p] = table[p / t.blockSize] * t.blockSize + p % t.blockSize;
    for (int r = 0; r < tokens; r++) {
      for (int g = 0; g < group; g++) {
        const float* src = t.q + static_cast<size_t>(t0 + r) * qDim + static_cast<size_t>(kvh * group + g) * t.headDim;
        float* dst = qr + static_cast<size_t>(r * group + g) * qStride;
        for (int c = 0; c < chunks; c++) F::store(dst + c * W, F::roundHalf(c < chunks - 1 || last == W ? F::load(src + c * W) : F::loadN(src + c * W, last)));
      }
    }

    // scores, W positions at a time
    const F::V scale = F::set1(t.scale);
    for (int p0 = 0; p0 < context; p0 += W) {
      for (int pp = 0; pp < W; pp++) {
        const int p = p0 + pp;
        if (p >= context) {
          for (int q = 0; q < queries; q++) F::store(partial + (static_cast<size_t>(q) * W + pp) * W, F::zero());
          continue;
        }
        const uint16_t* key = t.keys + static_cast<size_t>(slots[p]) * kvDim + static_cast<size_t>(kvh) * t.headDim;
        // at most 16 queries' sums in registers at once (more only with over 16 query heads per KV head)
        for (int qb = 0; qb < queries; qb += 16) {
          const int nq = queries - qb < 16 ? queries - qb : 16;
          F::V acc[16];
          for (int q = 0; q < nq; q++) acc[q] = F::zero();
          for (int c = 0; c < chunks; c++) {
            const F::V k = c < chunks - 1 || last == W ? F::loadHalf(key + c * W) : F::loadHalfN(key + c * W, last);
            for (int q = 0; q < nq; q++) acc[q] = F::fmadd(F::load(qr + static_cast<size_t>(qb + q) * qStride + c * W), k, acc[q]);
          }
          for (int q = 0; q < nq; q++) F::store(partial + (static_cast<size_t>(qb + q) * W + pp) * W, acc[q]);
        }
      }
      for (int q = 0; q < queries; q++) {
        F::V rows[W];
        for (int pp = 0; pp < W; pp++) rows[pp] = F::load(partial + (static_cast<size_t>(q) * W + pp) * W);
        F::store(scores + static_cast<size_t>(q) * padded + p0, F::mul(F::hsumEach(rows), scale));
      }
    }

    // softmax of each query over the positions it may see; the weights rounded to f16
    for (int r = 0; r < tokens; r++) {
      const int seen = t.positions[t0 + r] + 1;
      for (int g = 0; g < group; g++) {
        float* s = scores + static_cast<size_t>(r * group + g) * padded;
        float max = -__builtin_inff();
        for (int p = 0; p < seen; p++) max = s[p] > max ? s[p] : max;
        const F::V m = F::set1(max);
        F::V sum = F::zero();
        int p = 0;
        for (; p + W <= seen; p += W) {
          const F::V e = F::exp(F::sub(F::load(s + p), m));
          F::store(s + p, e);
          sum = F::add(sum, e);
        }
        if (p < seen) {  // the tail: exp over a full vector, the positions past `seen` zeroed
          alignas(64) float tail[W];
          const F::V e = F::exp(F::sub(F::load(s + p), m));
          F::store(tail, e);
          for (int i = seen - p; i < W; i++) tail[i] = 0.0f;
          const F::V kept = F::load(tail);
          F::store(s + p, kept);
          sum = F::add(sum, kept);
          p += W;
        }
        for (; p < padded; p += W) F::store(s + p, F::zero());
        const F::V inv = F::set1(1.0f / F::hsum(sum));
        for (p = 0; p < padded; p += W) F::store(s + p, F::roundHalf(F::mul(F::load(s + p), inv)));
      }
    }

    // outputs: for each W values of the head, every query's weighted sum over positions in order
    for (int c = 0; c < chunks; c++) {
      for (int qb = 0; qb < queries; qb += 16) {
        const int nq = queries - qb < 16 ? queries - qb : 16;
        F::V acc[16];
        for (int q = 0; q < nq; q++) acc[q] = F::zero();
        for (int p = 0; p < context; p++) {
          const uint16_t* vrow = t.values + static_cast<size_t>(slots[p]) * kvDim + static_cast<size_t>(kvh) * t.headDim + c * W;
          const F::V v = c < chunks - 1 || last == W ? F::loadHalf(vrow) : F::loadHalfN(vrow, last);
          for (int q = 0; q < nq; q++) acc[q] = F::fmadd(F::set1(scores[static_cast<size_t>(qb + q) * padded + p]), v, acc[q]);
        }
        for (int q = 0; q < nq; q++) {
          const int r = (qb + q) / group, g = (qb + q) % group;
          float* dst = t.out + static_cast<size_t>(t0 + r) * qDim + static_cast<size_t>(kvh * group + g) * t.headDim + c * W;
          if (c < chunks - 1 || last == W) F::store(dst, acc[q]);
          else F::storeN(dst, acc[q], last);
        }
      }
    }
  }
}
