// The matmul kernels of the AVX2 path, over the same panels as the AVX-512 ones, a half panel
// (8 rows, 32 bytes of each vector) per 256-bit register: a unit here is a half panel. Without
// VNNI, an int8 dot product of four columns is vpmaddubsw then vpmaddwd; integer sums are exact,
// so the results are the AVX-512 path's own for every quantized type.

static inline __m256i bcast32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

static inline __m256i loadBytes(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

static inline __m256 loadHalves8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

static inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// acc + the int32 sums of four products of unsigned a and signed b bytes (products stay in int16)
static inline __m256i dot4(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))); }

// 32 bytes, `value` where the bit of `bits` is set and 0 elsewhere
static inline __m256i bitsToBytes(uint32_t bits, __m256i value) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bitOf = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bitOf), bitOf), value);
}

static inline __m256i cvtBytes8(const uint8_t* p, bool isSigned) {
  const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return isSigned ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw);
}

// where unit u (a half panel) starts, and which half
static inline const uint8_t* unitBase(const Panels& w, int u) { return w.data + w.panelBytes * static_cast<size_t>(u / 2); }

template <int P, int T>
static void storeTile(const MatmulTask& task, int u0, int t0, __m256 (&acc)[P][T]) {
  const int rows = task.w->rows;
  for (int p = 0; p < P; p++) {
    const int first = (u0 + p) * 8;
    const int valid = rows - first < 8 ? rows - first : 8;
    if (valid <= 0) continue;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int t = 0; t < T; t++) {
      float* out = task.out + static_cast<size_t>(t0 + t) * rows + first;
      if (valid == 8) _mm256_storeu_ps(out, acc[p][t]);
      else _mm256_maskstore_ps(out, mask, acc[p][t]);
    }
  }
}

template <int BITS, bool MIN>
struct Legacy {
  static constexpr int ONE_P = 2, TB = 4, PAIR_TB = 0;

  template <int P, int T>
  static void run(const MatmulTask& task, int u0, int t0) {
    const Panels& w = *task.w;
    const PanelFormat& f = *w.format;
    const Activations& a = *task.a;
    const int cols = w.cols, nb = cols / 32;
    const uint8_t* base[P];
    int half[P];
    for (int p = 0; p < P; p++) base[p] = unitBase(w, u0 + p), half[p] = (u0 + p) % 2;
    const int8_t* xq = a.qs + static_cast<size_t>(t0) * cols;
    const __m256i low = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10), flip = _mm256_set1_epi8(static_cast<char>(0x80));
    // Q8_0's codes are q + 128: here they turn back into q, and the product signs go to q
    // (vpmaddubsw needs an unsigned operand, and 255 * 127 * 2 would overflow its int16)
    const int offset = BITS == 8 ? 0 : f.codeOffset;
    __m256 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
      __m256i ia[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) ia[p][t] = _mm256_setzero_si256();
      if constexpr (BITS == 8) {
        for (int g = 0; g < 8; g++) {
          __m256i v[P];
          for (int p = 0; p < P; p++) v[p] = _mm256_xor_si256(loadBytes(base[p] + g * 64 + 32 * half[p]), flip);
          for (int t = 0; t < T; t++) {
            const __m256i x = bcast32(xq + static_cast<size_t>(t) * cols + b * 32 + 4 * g);
            const __m256i ax = _mm256_abs_epi8(x);
            for (int p = 0; p < P; p++) ia[p][t] = dot4(ia[p][t], ax, _mm256_sign_epi8(v[p], x));
          }
        }
      } else {
        for (int i = 0; i < 4; i++) {
          __m256i lo[P], hi[P];
          for (int p = 0; p < P; p++) {
            const __m256i v = loadBytes(base[p] + i * 64 + 32 * half[p]);
            lo[p] = _mm256_and_si256(v, low);
            hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            if constexpr (BITS == 5) {
              const uint8_t* m = base[p] + f.planesAt + i * 16 + 4 * half[p];
              lo[p] = _mm256_or_si256(lo[p], bitsToBytes(load32(m), bit4));
              hi[p] = _mm256_or_si256(hi[p], bitsToBytes(load32(m + 8), bit4));
            }
          }
          for (int t = 0; t < T; t++) {
            const int8_t* x = xq + static_cast<size_t>(t) * cols + b * 32;
            const __m256i xl = bcast32(x + 4 * i), xh = bcast32(x + 16 + 4 * i);
            for (int p = 0; p < P; p++) {
              ia[p][t] = dot4(ia[p][t], lo[p], xl);
              ia[p][t] = dot4(ia[p][t], hi[p], xh);
            }
          }
        }
      }
      for (int p = 0; p < P; p++) {
        const __m256 dw = loadHalves8(base[p] + f.scaleAt + 16 * half[p]);
        __m256 mw = _mm256_setzero_ps();
        if constexpr (MIN) mw = loadHalves8(base[p] + f.minAt + 16 * half[p]);
        for (int t = 0; t < T; t++) {
          const size_t at = static_cast<size_t>(t0 + t) * nb + b;
          __m256i iv = ia[p][t];
          if (offset) iv = _mm256_sub_epi32(iv, _mm256_set1_epi32(offset * a.sums[at]));
          acc[p][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iv), _mm256_mul_ps(dw, _mm256_set1_ps(a.d[at])), acc[p][t]);
          if constexpr (MIN) acc[p][t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(a.s[at]), acc[p][t]);
        }
        base[p] += f.blockBytes;
      }
    }
    storeTile<P, T>(task, u0, t0, acc);
  }
};

template <int BITS>
struct KQuant {
  static constexpr int ONE_P = 2, TB = 2, PAIR_TB = 0;

  template <int P, int T>
  static void run(const MatmulTask& task, int u0, int t0) {
    const Panels& w = *task.w;
    const PanelFormat& f = *w.format;
    const Activations& a = *task.a;
    const int cols = w.cols, nsb = cols / 256;
    const uint8_t* base[P];
    int half[P];
    for (int p = 0; p < P; p++) base[p] = unitBase(w, u0 + p), half[p] = (u0 + p) % 2;
    const int8_t* xq = a.qs + static_cast<size_t>(t0) * cols;
    const __m256i low = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10), bit5 = _mm256_set1_epi8(0x20);
    __m256 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm256_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
      __m256i isum[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) isum[p][t] = _mm256_setzero_si256();
      constexpr int SUBS = BITS == 6 ? 8 : 4;
      constexpr int VECS = BITS == 6 ? 4 : 8;
      for (int s = 0; s < SUBS; s++) {
        __m256i alo[P][T], ahi[P][T];
        for (int p = 0; p < P; p++)
          for (int t = 0; t < T; t++) alo[p][t] = ahi[p][t] = _mm256_setzero_si256();
        for (int i = s * VECS; i < (s + 1) * VECS; i++) {
          __m256i lo[P], hi[P];
          for (int p = 0; p < P; p++) {
            const __m256i v = loadBytes(base[p] + i * 64 + 32 * half[p]);
            lo[p] = _mm256_and_si256(v, low);
            hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            if constexpr (BITS == 5) {
              const uint8_t* m = base[p] + f.planesAt + i * 16 + 4 * half[p];
              lo[p] = _mm256_or_si256(lo[p], bitsToBytes(load32(m), bit4));
              hi[p] = _mm256_or_si256(hi[p], bitsToBytes(load32(m + 8), bit4));
            } else if constexpr (BITS == 6) {
              const uint8_t* m = base[p] + f.planesAt + i * 32 + 4 * half[p];
              lo[p] = _mm256_or_si256(lo[p], _mm256_or_si256(bitsToBytes(load32(m), bit4), bitsToBytes(load32(m + 16), bit5)));
              hi[p] = _mm256_or_si256(hi[p], _mm256_or_si256(bitsToBytes(load32(m + 8), bit4), bitsToBytes(load32(m + 24), bit5)));
            }
          }
          for (int t = 0; t < T; t++) {
            const int8_t* x = xq + static_cast<size_t>(t) * cols + sb * 256;
            const __m256i xl = bcast32(x + 4 * i), xh = bcast32(x + 128 + 4 * i);
            for (int p = 0; p < P; p++) {
              alo[p][t] = dot4(alo[p][t], lo[p], xl);
              ahi[p][t] = dot4(ahi[p][t], hi[p], xh);
            }
          }
        }
        if constexpr (BITS == 6) {
          for (int t = 0; t < T; t++) {
            const int16_t* bs = a.bsums16 + static_cast<size_t>(t0 + t) * (cols / 16) + sb * 16;
            const __m256i cl = _mm256_set1_epi32(32 * bs[s]), ch = _mm256_set1_epi32(32 * bs[8 + s]);
            for (int p = 0; p < P; p++) {
              alo[p][t] = _mm256_sub_epi32(alo[p][t], cl);
              ahi[p][t] = _mm256_sub_epi32(ahi[p][t], ch);
            }
          }
        }
        const int hiSub = BITS == 6 ? 8 + s : 4 + s;
        for (int p = 0; p < P; p++) {
          const uint8_t* sc = base[p] + f.subScalesAt + 8 * half[p];
          const __m256i sl = cvtBytes8(sc + s * 16, BITS == 6);
          const __m256i sh = cvtBytes8(sc + hiSub * 16, BITS == 6);
          for (int t = 0; t < T; t++) isum[p][t] = _mm256_add_epi32(isum[p][t], _mm256_add_epi32(_mm256_mullo_epi32(alo[p][t], sl), _mm256_mullo_epi32(ahi[p][t], sh)));
        }
      }
      for (int p = 0; p < P; p++) {
        const __m256 dw = loadHalves8(base[p] + f.scaleAt + 16 * half[p]);
        if constexpr (BITS != 6) {
          __m256i mp[4];
          const uint8_t* mn = base[p] + f.subMinsAt + 8 * half[p];
          for (int jj = 0; jj < 4; jj++) mp[jj] = _mm256_or_si256(cvtBytes8(mn + 2 * jj * 16, false), _mm256_slli_epi32(cvtBytes8(mn + (2 * jj + 1) * 16, false), 16));
          const __m256 dm = loadHalves8(base[p] + f.minAt + 16 * half[p]);
          for (int t = 0; t < T; t++) {
            const int16_t* bs = a.bsums32 + static_cast<size_t>(t0 + t) * (cols / 32) + sb * 8;
            __m256i ms = _mm256_setzero_si256();
            for (int jj = 0; jj < 4; jj++) ms = _mm256_add_epi32(ms, _mm256_madd_epi16(mp[jj], bcast32(bs + 2 * jj)));
            const __m256 dx = _mm256_set1_ps(a.d[static_cast<size_t>(t0 + t) * nsb + sb]);
            acc[p][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[p][t]), _mm256_mul_ps(dw, dx), acc[p][t]);
            acc[p][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_mul_ps(dm, dx), acc[p][t]);
          }
        } else {
          for (int t = 0; t < T; t++) {
            const __m256 dx = _mm256_set1_ps(a.d[static_cast<size_t>(t0 + t) * nsb + sb]);
            acc[p][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[p][t]), _mm256_mul_ps(dw, dx), acc[p][t]);
          }
        }
        base[p] += f.blockBytes;
      }
    }
    storeTile<P, T>(task, u0, t0, acc);
  }
};

// columns of an f32 partial sum (matmul Floats)
constexpr int FLOAT_BLOCK = 32;

template <int KIND>
struct Floats {
  static constexpr int ONE_P = 4, TB = 4, PAIR_TB = 0;

  static __m256 column(const uint8_t* at, int half) {
    if constexpr (KIND == 0) return _mm256_loadu_ps(reinterpret_cast<const float*>(at + 32 * half));
    else if constexpr (KIND == 1) return loadHalves8(at + 16 * half);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 16 * half))), 16));
  }

  template <int P, int T>
  static void run(const MatmulTask& task, int u0, int t0) {
    const Panels& w = *task.w;
    const int cols = w.cols;
    const int stride = w.format->blockBytes;
    const uint8_t* base[P];
    int half[P];
    for (int p = 0; p < P; p++) base[p] = unitBase(w, u0 + p), half[p] = (u0 + p) % 2;
    const float* x = task.a->x + static_cast<size_t>(t0) * cols;
    __m256 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm256_setzero_ps();
    // sums of 32 columns, added to the total block by block: the rounding error of an f32 sum
    // of a long row stays near that of llama.cpp's, whose lanes each sum a sixteenth of it
    for (int k0 = 0; k0 < cols; k0 += FLOAT_BLOCK) {
      const int k1 = k0 + FLOAT_BLOCK < cols ? k0 + FLOAT_BLOCK : cols;
      __m256 blk[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) blk[p][t] = _mm256_setzero_ps();
      for (int k = k0; k < k1; k++) {
        __m256 wv[P];
        for (int p = 0; p < P; p++) wv[p] = column(base[p] + static_cast<size_t>(k) * stride, half[p]);
        for (int t = 0; t < T; t++) {
          const __m256 xv = _mm256_set1_ps(x[static_cast<size_t>(t) * cols + k]);
          for (int p = 0; p < P; p++) blk[p][t] = _mm256_fmadd_ps(wv[p], xv, blk[p][t]);
        }
      }
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) acc[p][t] = _mm256_add_ps(acc[p][t], blk[p][t]);
    }
    storeTile<P, T>(task, u0, t0, acc);
  }
};

static void matmulPanels(const MatmulTask& t, int begin, int end) {
  const int b = 2 * begin, e = 2 * end;  // half panels
  switch (t.w->format->type) {
    case GGML_F32: return tileUnits<Floats<0>>(t, b, e);
    case GGML_F16: return tileUnits<Floats<1>>(t, b, e);
    case GGML_BF16: return tileUnits<Floats<2>>(t, b, e);
    case GGML_Q4_0: return tileUnits<Legacy<4, false>>(t, b, e);
    case GGML_Q4_1: return tileUnits<Legacy<4, true>>(t, b, e);
    case GGML_Q5_0: return tileUnits<Legacy<5, false>>(t, b, e);
    case GGML_Q5_1: return tileUnits<Legacy<5, true>>(t, b, e);
    case GGML_Q8_0: return tileUnits<Legacy<8, false>>(t, b, e);
    case GGML_Q4_K: return tileUnits<KQuant<4>>(t, b, e);
    case GGML_Q5_K: return tileUnits<KQuant<5>>(t, b, e);
    case GGML_Q6_K: return tileUnits<KQuant<6>>(t, b, e);
    default: return;
  }
}
