// 256-bit vectors of 8 floats (AVX2, FMA, F16C), for the kernels written once for both paths.
// Included inside isa-avx2.cc's anonymous namespace, after its target pragma.

struct F {
  static constexpr int W = 8;
  using V = __m256;

  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V loadHalf(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static void storeHalf(uint16_t* p, V v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  // the first n (< W) values, the rest zero; and n values stored
  static V loadHalfN(const uint16_t* p, int n) {
    alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    __builtin_memcpy(tmp, p, static_cast<size_t>(n) * 2);
    return loadHalf(tmp);
  }
  static V loadN(const float* p, int n) {
    alignas(32) float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    __builtin_memcpy(tmp, p, static_cast<size_t>(n) * 4);
    return load(tmp);
  }
  static void storeN(float* p, V v, int n) {
    alignas(32) float tmp[8];
    store(tmp, v);
    __builtin_memcpy(p, tmp, static_cast<size_t>(n) * 4);
  }
  static V roundHalf(V v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
  static V roundBfloat(V v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }

  // folding halves: lane j with j + 4, then j + 2, then j + 1
  static float hsum(V v) {
    const __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    const __m128 c = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(c);
  }

  static float hmax(V v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
  }

  // out lane p = hsum(v[p]) for 8 vectors, each in hsum's order
  static V hsumEach(const V* v) {
    V u[4], z[2];
    for (int i = 0; i < 4; i++) {
      const V x = _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20);
      const V y = _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31);
      u[i] = _mm256_add_ps(x, y);  // each half one position: lanes j + j+4
    }
    for (int i = 0; i < 2; i++) {
      const V x = _mm256_shuffle_ps(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
      const V y = _mm256_shuffle_ps(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
      z[i] = _mm256_add_ps(x, y);  // lanes j + j+2
    }
    const V x = _mm256_shuffle_ps(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0));
    const V y = _mm256_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1));
    const V r = _mm256_add_ps(x, y);  // lane 4h + m holds position 2m + h
    return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }

  static V exp(V x) {
    const V c = _mm256_max_ps(_mm256_min_ps(x, set1(88.3762626647949f)), set1(-88.3762626647949f));
    const V n = _mm256_round_ps(_mm256_mul_ps(c, set1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, set1(0.693359375f), c);
    r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, set1(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, set1(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, set1(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, set1(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, set1(5.0000001201e-1f));
    const V y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), set1(1.0f));
    // 2^n in two factors, so that n down to -127 (below the normal range) stays exact
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const V f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const V f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, f1), f2);
  }

  // 32 int32 in four vectors to 32 int8, in order
  static void packBytes(__m256i a, __m256i b, __m256i c, __m256i d, int8_t* out) {
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), bytes);
  }

  static int sumInts(__m256i v) {
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    a = _mm_add_epi32(a, _mm_unpackhi_epi64(a, a));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 1));
    return _mm_cvtsi128_si32(a);
  }

  static void quantizeQ8_0(const float* x, int8_t* q, float* d, int32_t* sum, float* s) {
    V v[4];
    V m = zero();
    for (int i = 0; i < 4; i++) {
      v[i] = load(x + 8 * i);
      m = _mm256_max_ps(m, abs(v[i]));
    }
    const float amax = hmax(m);
    const float scale = amax / 127.0f;
    const V inv = set1(amax != 0.0f ? 127.0f / amax : 0.0f);
    __m256i qi[4];
    for (int i = 0; i < 4; i++) qi[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    packBytes(qi[0], qi[1], qi[2], qi[3], q);
    const int total = sumInts(_mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3])));
    *d = halfToFloat(floatToHalf(scale));
    *sum = total;
    *s = halfToFloat(floatToHalf(scale * static_cast<float>(total)));
  }

  static void quantizeQ8_K(const float* x, int8_t* q, float* d, int16_t* bsums16, int16_t* bsums32) {
    V amaxv = zero();
    for (int i = 0; i < 256; i += 8) amaxv = _mm256_max_ps(amaxv, abs(load(x + i)));
    const float amax = hmax(amaxv);
    if (amax == 0.0f) {
      *d = 0.0f;
      for (int i = 0; i < 256; i++) q[i] = 0;
      for (int i = 0; i < 16; i++) bsums16[i] = 0;
      for (int i = 0; i < 8; i++) bsums32[i] = 0;
      return;
    }
    float max = 0.0f;
    for (int i = 0; i < 256; i++) {
      if (__builtin_fabsf(x[i]) == amax) {
        max = x[i];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const V m = set1(iscale);
    for (int i = 0; i < 256; i += 32) {
      __m256i qi[4];
      for (int j = 0; j < 4; j++) {
        qi[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(load(x + i + 8 * j), m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        qi[j] = _mm256_min_epi32(qi[j], _mm256_set1_epi32(127));
      }
      packBytes(qi[0], qi[1], qi[2], qi[3], q + i);
      bsums16[i / 16] = static_cast<int16_t>(sumInts(_mm256_add_epi32(qi[0], qi[1])));
      bsums16[i / 16 + 1] = static_cast<int16_t>(sumInts(_mm256_add_epi32(qi[2], qi[3])));
    }
    for (int j = 0; j < 8; j++) bsums32[j] = static_cast<int16_t>(bsums16[2 * j] + bsums16[2 * j + 1]);
    *d = 1.0f / iscale;
  }

  static double sumSquares(const float* x, int n, int* done) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const V v = load(x + i);
      const V sq = _mm256_mul_ps(v, v);
      acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
      acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
    }
    *done = i;
    const __m256d a = _mm256_add_pd(acc0, acc1);
    const __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
  }
};
