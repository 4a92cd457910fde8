// The matmul kernels of the AVX-512 VNNI path, over panels (panel-format.h): one 512-bit vector
// holds four columns of 16 rows, so vpdpbusd of it with four broadcast int8 activations adds 16
// rows' dot products at once. Integer sums are exact, so their order is free; the f32 sums of a
// (row, token) run over blocks in order, the same in every tile.

static inline __m512i bcast32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

static inline __m512i loadBytes(const uint8_t* p) { return _mm512_loadu_si512(p); }

static inline __m512 loadHalves16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

static inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline void storeRows(float* out, __m512 v, int valid) {
  if (valid >= 16) _mm512_storeu_ps(out, v);
  else _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << valid) - 1), v);
}

template <int P, int T>
static void storeTile(const MatmulTask& task, int panel0, int t0, __m512 (&acc)[P][T]) {
  const int rows = task.w->rows;
  for (int p = 0; p < P; p++) {
    const int first = (panel0 + p) * PANEL_ROWS;
    const int valid = rows - first < PANEL_ROWS ? rows - first : PANEL_ROWS;
    for (int t = 0; t < T; t++) storeRows(task.out + static_cast<size_t>(t0 + t) * rows + first, acc[p][t], valid);
  }
}

// Q4_0, Q4_1, Q5_0, Q5_1 (BITS 4 or 5, MIN for the _1 types) and Q8_0 (BITS 8): blocks of 32
template <int BITS, bool MIN>
struct Legacy {
  static constexpr int ONE_P = 4, TB = 8, PAIR_TB = 0;

  template <int P, int T>
  static void run(const MatmulTask& task, int panel0, int t0) {
    const Panels& w = *task.w;
    const PanelFormat& f = *w.format;
    const Activations& a = *task.a;
    const int cols = w.cols, nb = cols / 32;
    const uint8_t* base[P];
    for (int p = 0; p < P; p++) base[p] = w.data + w.panelBytes * static_cast<size_t>(panel0 + p);
    const int8_t* xq = a.qs + static_cast<size_t>(t0) * cols;
    const __m512i low = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10);
    const int offset = f.codeOffset;
    __m512 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
      __m512i ia[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) ia[p][t] = _mm512_setzero_si512();
      if constexpr (BITS == 8) {
        for (int g = 0; g < 8; g++) {
          __m512i v[P];
          for (int p = 0; p < P; p++) v[p] = loadBytes(base[p] + g * 64);
          for (int t = 0; t < T; t++) {
            const __m512i x = bcast32(xq + static_cast<size_t>(t) * cols + b * 32 + 4 * g);
            for (int p = 0; p < P; p++) ia[p][t] = _mm512_dpbusd_epi32(ia[p][t], v[p], x);
          }
        }
      } else {
        for (int i = 0; i < 4; i++) {
          __m512i lo[P], hi[P];
          for (int p = 0; p < P; p++) {
            const __m512i v = loadBytes(base[p] + i * 64);
            lo[p] = _mm512_and_si512(v, low);
            hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            if constexpr (BITS == 5) {
              const uint8_t* m = base[p] + f.planesAt + i * 16;
              lo[p] = _mm512_or_si512(lo[p], _mm512_maskz_mov_epi8(load64(m), bit4));
              hi[p] = _mm512_or_si512(hi[p], _mm512_maskz_mov_epi8(load64(m + 8), bit4));
            }
          }
          for (int t = 0; t < T; t++) {
            const int8_t* x = xq + static_cast<size_t>(t) * cols + b * 32;
            const __m512i xl = bcast32(x + 4 * i), xh = bcast32(x + 16 + 4 * i);
            for (int p = 0; p < P; p++) {
              ia[p][t] = _mm512_dpbusd_epi32(ia[p][t], lo[p], xl);
              ia[p][t] = _mm512_dpbusd_epi32(ia[p][t], hi[p], xh);
            }
          }
        }
      }
      for (int p = 0; p < P; p++) {
        const __m512 dw = loadHalves16(base[p] + f.scaleAt);
        __m512 mw = _mm512_setzero_ps();
        if constexpr (MIN) mw = loadHalves16(base[p] + f.minAt);
        for (int t = 0; t < T; t++) {
          const size_t at = static_cast<size_t>(t0 + t) * nb + b;
          __m512i iv = ia[p][t];
          if (offset) iv = _mm512_sub_epi32(iv, _mm512_set1_epi32(offset * a.sums[at]));
          acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), _mm512_mul_ps(dw, _mm512_set1_ps(a.d[at])), acc[p][t]);
          if constexpr (MIN) acc[p][t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(a.s[at]), acc[p][t]);
        }
        base[p] += f.blockBytes;
      }
    }
    storeTile<P, T>(task, panel0, t0, acc);
  }
};

// Q4_K, Q5_K (BITS 4, 5: eight sub-blocks of 32 with scales and mins) and Q6_K (BITS 6: sixteen
// of 16 with signed scales); super-blocks of 256
template <int BITS>
struct KQuant {
  static constexpr int ONE_P = 4, TB = 4, PAIR_TB = 0;

  template <int P, int T>
  static void run(const MatmulTask& task, int panel0, int t0) {
    const Panels& w = *task.w;
    const PanelFormat& f = *w.format;
    const Activations& a = *task.a;
    const int cols = w.cols, nsb = cols / 256;
    const uint8_t* base[P];
    for (int p = 0; p < P; p++) base[p] = w.data + w.panelBytes * static_cast<size_t>(panel0 + p);
    const int8_t* xq = a.qs + static_cast<size_t>(t0) * cols;
    const __m512i low = _mm512_set1_epi8(0x0f), bit4 = _mm512_set1_epi8(0x10), bit5 = _mm512_set1_epi8(0x20);
    __m512 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm512_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
      __m512i isum[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) isum[p][t] = _mm512_setzero_si512();
      constexpr int SUBS = BITS == 6 ? 8 : 4;    // pairs of sub-blocks (low half, high half)
      constexpr int VECS = BITS == 6 ? 4 : 8;    // vectors per sub-block
      for (int s = 0; s < SUBS; s++) {
        __m512i alo[P][T], ahi[P][T];
        for (int p = 0; p < P; p++)
          for (int t = 0; t < T; t++) alo[p][t] = ahi[p][t] = _mm512_setzero_si512();
        for (int i = s * VECS; i < (s + 1) * VECS; i++) {
          __m512i lo[P], hi[P];
          for (int p = 0; p < P; p++) {
            const __m512i v = loadBytes(base[p] + i * 64);
            lo[p] = _mm512_and_si512(v, low);
            hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            if constexpr (BITS == 5) {
              const uint8_t* m = base[p] + f.planesAt + i * 16;
              lo[p] = _mm512_or_si512(lo[p], _mm512_maskz_mov_epi8(load64(m), bit4));
              hi[p] = _mm512_or_si512(hi[p], _mm512_maskz_mov_epi8(load64(m + 8), bit4));
            } else if constexpr (BITS == 6) {
              const uint8_t* m = base[p] + f.planesAt + i * 32;
              lo[p] = _mm512_or_si512(lo[p], _mm512_or_si512(_mm512_maskz_mov_epi8(load64(m), bit4), _mm512_maskz_mov_epi8(load64(m + 16), bit5)));
              hi[p] = _mm512_or_si512(hi[p], _mm512_or_si512(_mm512_maskz_mov_epi8(load64(m + 8), bit4), _mm512_maskz_mov_epi8(load64(m + 24), bit5)));
            }
          }
          for (int t = 0; t < T; t++) {
            const int8_t* x = xq + static_cast<size_t>(t) * cols + sb * 256;
            const __m512i xl = bcast32(x + 4 * i), xh = bcast32(x + 128 + 4 * i);
            for (int p = 0; p < P; p++) {
              alo[p][t] = _mm512_dpbusd_epi32(alo[p][t], lo[p], xl);
              ahi[p][t] = _mm512_dpbusd_epi32(ahi[p][t], hi[p], xh);
            }
          }
        }
        if constexpr (BITS == 6) {
          // codes run 0..63 for values -32..31: take 32 times each sub-block's activation sum off
          for (int t = 0; t < T; t++) {
            const int16_t* bs = a.bsums16 + static_cast<size_t>(t0 + t) * (cols / 16) + sb * 16;
            const __m512i cl = _mm512_set1_epi32(32 * bs[s]), ch = _mm512_set1_epi32(32 * bs[8 + s]);
            for (int p = 0; p < P; p++) {
              alo[p][t] = _mm512_sub_epi32(alo[p][t], cl);
              ahi[p][t] = _mm512_sub_epi32(ahi[p][t], ch);
            }
          }
        }
        const int hiSub = BITS == 6 ? 8 + s : 4 + s;
        for (int p = 0; p < P; p++) {
          const uint8_t* sc = base[p] + f.subScalesAt;
          const __m128i rawLo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + s * 16));
          const __m128i rawHi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + hiSub * 16));
          const __m512i sl = BITS == 6 ? _mm512_cvtepi8_epi32(rawLo) : _mm512_cvtepu8_epi32(rawLo);
          const __m512i sh = BITS == 6 ? _mm512_cvtepi8_epi32(rawHi) : _mm512_cvtepu8_epi32(rawHi);
          for (int t = 0; t < T; t++) isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_add_epi32(_mm512_mullo_epi32(alo[p][t], sl), _mm512_mullo_epi32(ahi[p][t], sh)));
        }
      }
      for (int p = 0; p < P; p++) {
        const __m512 dw = loadHalves16(base[p] + f.scaleAt);
        if constexpr (BITS != 6) {
          // the mins: sum over sub-blocks j of min_j * (sum of the activations of j), two at a time
          __m512i mp[4];
          for (int jj = 0; jj < 4; jj++) {
            const uint8_t* mn = base[p] + f.subMinsAt;
            const __m512i even = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mn + 2 * jj * 16)));
            const __m512i odd = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mn + (2 * jj + 1) * 16)));
            mp[jj] = _mm512_or_si512(even, _mm512_slli_epi32(odd, 16));
          }
          const __m512 dm = loadHalves16(base[p] + f.minAt);
          for (int t = 0; t < T; t++) {
            const int16_t* bs = a.bsums32 + static_cast<size_t>(t0 + t) * (cols / 32) + sb * 8;
            __m512i ms = _mm512_setzero_si512();
            for (int jj = 0; jj < 4; jj++) ms = _mm512_dpwssd_epi32(ms, mp[jj], bcast32(bs + 2 * jj));
            const __m512 dx = _mm512_set1_ps(a.d[static_cast<size_t>(t0 + t) * nsb + sb]);
            acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[p][t]), _mm512_mul_ps(dw, dx), acc[p][t]);
            acc[p][t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(dm, dx), acc[p][t]);
          }
        } else {
          for (int t = 0; t < T; t++) {
            const __m512 dx = _mm512_set1_ps(a.d[static_cast<size_t>(t0 + t) * nsb + sb]);
            acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[p][t]), _mm512_mul_ps(dw, dx), acc[p][t]);
          }
        }
        base[p] += f.blockBytes;
      }
    }
    storeTile<P, T>(task, panel0, t0, acc);
  }
};

// F32, F16, BF16 (KIND 0, 1, 2): a panel holds each column's 16 values together, so one FMA with
// a broadcast activation adds a column to 16 rows
// columns of an f32 partial sum (matmul Floats)
constexpr int FLOAT_BLOCK = 32;

template <int KIND>
struct Floats {
  static constexpr int ONE_P = 4, TB = 8, PAIR_TB = 6;

  static __m512 column(const uint8_t* at) {
    if constexpr (KIND == 0) return _mm512_loadu_ps(reinterpret_cast<const float*>(at));
    else if constexpr (KIND == 1) return loadHalves16(at);
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at))), 16));
  }

  template <int P, int T>
  static void run(const MatmulTask& task, int panel0, int t0) {
    const Panels& w = *task.w;
    const int cols = w.cols;
    const int stride = w.format->blockBytes;
    const uint8_t* base[P];
    for (int p = 0; p < P; p++) base[p] = w.data + w.panelBytes * static_cast<size_t>(panel0 + p);
    const float* x = task.a->x + static_cast<size_t>(t0) * cols;
    __m512 acc[P][T];
    for (int p = 0; p < P; p++)
      for (int t = 0; t < T; t++) acc[p][t] = _mm512_setzero_ps();
    // sums of 32 columns, added to the total block by block: the rounding error of an f32 sum
    // of a long row stays near that of llama.cpp's, whose lanes each sum a sixteenth of it
    for (int k0 = 0; k0 < cols; k0 += FLOAT_BLOCK) {
      const int k1 = k0 + FLOAT_BLOCK < cols ? k0 + FLOAT_BLOCK : cols;
      __m512 blk[P][T];
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) blk[p][t] = _mm512_setzero_ps();
      for (int k = k0; k < k1; k++) {
        __m512 wv[P];
        for (int p = 0; p < P; p++) wv[p] = column(base[p] + static_cast<size_t>(k) * stride);
        for (int t = 0; t < T; t++) {
          const __m512 xv = _mm512_set1_ps(x[static_cast<size_t>(t) * cols + k]);
          for (int p = 0; p < P; p++) blk[p][t] = _mm512_fmadd_ps(wv[p], xv, blk[p][t]);
        }
      }
      for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) acc[p][t] = _mm512_add_ps(acc[p][t], blk[p][t]);
    }
    storeTile<P, T>(task, panel0, t0, acc);
  }
};

static void matmulPanels(const MatmulTask& t, int begin, int end) {
  switch (t.w->format->type) {
    case GGML_F32: return tileUnits<Floats<0>>(t, begin, end);
    case GGML_F16: return tileUnits<Floats<1>>(t, begin, end);
    case GGML_BF16: return tileUnits<Floats<2>>(t, begin, end);
    case GGML_Q4_0: return tileUnits<Legacy<4, false>>(t, begin, end);
    case GGML_Q4_1: return tileUnits<Legacy<4, true>>(t, begin, end);
    case GGML_Q5_0: return tileUnits<Legacy<5, false>>(t, begin, end);
    case GGML_Q5_1: return tileUnits<Legacy<5, true>>(t, begin, end);
    case GGML_Q8_0: return tileUnits<Legacy<8, false>>(t, begin, end);
    case GGML_Q4_K: return tileUnits<KQuant<4>>(t, begin, end);
    case GGML_Q5_K: return tileUnits<KQuant<5>>(t, begin, end);
    case GGML_Q6_K: return tileUnits<KQuant<6>>(t, begin, end);
    default: return;
  }
}
