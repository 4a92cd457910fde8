// Activations converted to the weights' dot type before a matmul, rows [begin, end), as
// llama.cpp converts src1 to vec_dot_type: Q8_0 blocks (with their Q8_1 sums), Q8_K
// super-blocks, or the values rounded to f16 or bfloat16. Written once over F.

static void quantizeRows(const float* x, int begin, int end, Activations& a) {
  const int cols = a.cols;
  for (int t = begin; t < end; t++) {
    const float* row = x + static_cast<size_t>(t) * cols;
    switch (a.kind) {
      case DotKind::q8_0: {
        const int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
          const size_t at = static_cast<size_t>(t) * nb + b;
          F::quantizeQ8_0(row + 32 * b, a.qs + static_cast<size_t>(t) * cols + 32 * b, a.d + at, a.sums + at, a.s + at);
        }
        break;
      }
      case DotKind::q8_k: {
        const int nb = cols / 256;
        for (int b = 0; b < nb; b++) {
          F::quantizeQ8_K(row + 256 * b, a.qs + static_cast<size_t>(t) * cols + 256 * b, a.d + static_cast<size_t>(t) * nb + b,
                          a.bsums16 + static_cast<size_t>(t) * (cols / 16) + 16 * b, a.bsums32 + static_cast<size_t>(t) * (cols / 32) + 8 * b);
        }
        break;
      }
      case DotKind::f16:
      case DotKind::bf16: {
        float* out = a.rounded + static_cast<size_t>(t) * cols;
        int i = 0;
        if (a.kind == DotKind::f16) {
          for (; i + F::W <= cols; i += F::W) F::store(out + i, F::roundHalf(F::load(row + i)));
          for (; i < cols; i++) out[i] = halfToFloat(floatToHalf(row[i]));
        } else {
          for (; i + F::W <= cols; i += F::W) F::store(out + i, F::roundBfloat(F::load(row + i)));
          for (; i < cols; i++) out[i] = bfloatToFloat(floatToBfloat(row[i]));
        }
        break;
      }
      case DotKind::f32:
        break;
    }
  }
}
