// 512-bit vectors of 16 floats, for the kernels written once for both paths (elementwise.h,
// attention.h, quantize.h). Included inside isa-avx512.cc's anonymous namespace, after its
// target pragma.

struct F {
  static constexpr int W = 16;
  using V = __m512;

  static V zero() { return _mm512_setzero_ps(); }
  // the upper 8 lanes (AVX-512F only: no DQ needed)
  static __m256 hi8(V v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  // a * b + c, fused
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V loadHalf(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static void storeHalf(uint16_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  // the first n (< W) values, the rest zero; and n values stored
  static V loadHalfN(const uint16_t* p, int n) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p)); }
  static V loadN(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
  static void storeN(float* p, V v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }
  static V roundHalf(V v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  // to the nearest bfloat16 (ties to even), as f32
  static V roundBfloat(V v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
    return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }

  // The sum of the lanes, folding halves (lane j with j + 8, then j + 4, j + 2, j + 1): the
  // order hsumEach reproduces.
  static float hsum(V v) {
    const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), hi8(v));
    const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    const __m128 d = _mm_add_ss(c, _mm_movehdup_ps(c));
    return _mm_cvtss_f32(d);
  }

  static float hmax(V v) { return _mm512_reduce_max_ps(v); }

  // out lane p = hsum(v[p]) for 16 vectors at once, each in the same order as hsum
  static V hsumEach(const V* v) {
    V u[8], w[4], z[2];
    for (int i = 0; i < 8; i++) {
      const V x = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44);  // a.q0 a.q1 b.q0 b.q1
      const V y = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xee);  // a.q2 a.q3 b.q2 b.q3
      u[i] = _mm512_add_ps(x, y);                                     // lanes j + j+8
    }
    for (int i = 0; i < 4; i++) {
      const V x = _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88);
      const V y = _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xdd);
      w[i] = _mm512_add_ps(x, y);  // each quarter one position: lanes j + j+4
    }
    for (int i = 0; i < 2; i++) {
      const V x = _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
      const V y = _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
      z[i] = _mm512_add_ps(x, y);  // lanes j + j+2
    }
    const V x = _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0));
    const V y = _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1));
    const V r = _mm512_add_ps(x, y);  // lane 4k + m holds position k + 4m
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, r);
  }

  // e^x, about 1 ulp (Cephes' polynomial after a two-part ln 2 reduction); 0 below -87.3
  static V exp(V x) {
    const V hi = set1(88.3762626647949f), lo = set1(-88.3762626647949f);
    const V c = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    const V n = _mm512_roundscale_ps(_mm512_mul_ps(c, set1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, set1(0.693359375f), c);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, set1(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, set1(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, set1(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, set1(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, set1(5.0000001201e-1f));
    const V y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), set1(1.0f));
    return _mm512_scalef_ps(y, n);
  }

  // Q8_0 of 32 values, as llama.cpp's x86 quantize_row_q8_0 (and the Q8_1 block sum)
  static void quantizeQ8_0(const float* x, int8_t* q, float* d, int32_t* sum, float* s) {
    const V a = load(x), b = load(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs(a), abs(b)));
    const float scale = amax / 127.0f;
    const float inv = amax != 0.0f ? 127.0f / amax : 0.0f;
    const V m = set1(inv);
    const __m512i qa = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(a, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m512i qb = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(b, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(qa));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(qb));
    const int total = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
    *d = halfToFloat(floatToHalf(scale));
    *sum = total;
    *s = halfToFloat(floatToHalf(scale * static_cast<float>(total)));
  }

  // Q8_K of 256 values, as quantize_row_q8_K_ref: the value of largest magnitude (the first, on
  // ties) maps to -127, values round to nearest even, capped at 127; sums per 16 and per 32
  static void quantizeQ8_K(const float* x, int8_t* q, float* d, int16_t* bsums16, int16_t* bsums32) {
    V amaxv = zero();
    for (int i = 0; i < 256; i += 16) amaxv = _mm512_max_ps(amaxv, abs(load(x + i)));
    const float amax = _mm512_reduce_max_ps(amaxv);
    if (amax == 0.0f) {
      *d = 0.0f;
      for (int i = 0; i < 256; i++) q[i] = 0;
      for (int i = 0; i < 16; i++) bsums16[i] = 0;
      for (int i = 0; i < 8; i++) bsums32[i] = 0;
      return;
    }
    float max = 0.0f;
    for (int i = 0; i < 256; i += 16) {
      const __mmask16 hit = _mm512_cmp_ps_mask(abs(load(x + i)), set1(amax), _CMP_EQ_OQ);
      if (hit) {
        max = x[i + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const V m = set1(iscale);
    for (int i = 0; i < 256; i += 16) {
      __m512i v = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(load(x + i), m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      v = _mm512_min_epi32(v, _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(v));
      bsums16[i / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(v));
    }
    for (int j = 0; j < 8; j++) bsums32[j] = static_cast<int16_t>(bsums16[2 * j] + bsums16[2 * j + 1]);
    *d = 1.0f / iscale;
  }

  // sum of x[i]^2 (each square in f32, the sum in f64, as ggml's rms_norm), 16 values at a time
  static double sumSquares(const float* x, int n, int* done) {
    __m512d acc = _mm512_setzero_pd();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
      const V v = load(x + i);
      const V sq = _mm512_mul_ps(v, v);
      acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
      acc = _mm512_add_pd(acc, _mm512_cvtps_pd(hi8(sq)));
    }
    *done = i;
    return _mm512_reduce_add_pd(acc);
  }
};
