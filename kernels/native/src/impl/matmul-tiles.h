// How a matmul walks its panels and tokens in tiles, for any kernel family K of one path:
// K::run<P, T>(task, panel, token) computes P consecutive units (panels, or half panels on AVX2)
// against T consecutive tokens. Every (row, token) is computed with the same arithmetic
// whatever the tile, so tiles only change speed: one token reads four units at once (more
// independent sums in flight while the weights stream), a prompt takes tokens T at a time.

template <class K, int P, int R>
static void tokenTail(const MatmulTask& t, int unit, int tok, int r) {
  if constexpr (R >= 1) {
    if (r == R) {
      K::template run<P, R>(t, unit, tok);
      return;
    }
    tokenTail<K, P, R - 1>(t, unit, tok, r);
  }
}

template <class K, int P, int TB>
static void unitTokens(const MatmulTask& t, int unit) {
  int tok = 0;
  for (; tok + TB <= t.n; tok += TB) K::template run<P, TB>(t, unit, tok);
  if (tok < t.n) tokenTail<K, P, TB - 1>(t, unit, tok, t.n - tok);
}

// units [begin, end)
template <class K>
static void tileUnits(const MatmulTask& t, int begin, int end) {
  int u = begin;
  if (t.n == 1) {
    for (; u + K::ONE_P <= end; u += K::ONE_P) K::template run<K::ONE_P, 1>(t, u, 0);
  } else if (t.n == 2) {
    for (; u + 2 <= end; u += 2) K::template run<2, 2>(t, u, 0);
  } else if constexpr (K::PAIR_TB > 0) {
    for (; u + 2 <= end; u += 2) unitTokens<K, 2, K::PAIR_TB>(t, u);
  }
  for (; u < end; u++) unitTokens<K, 1, K::TB>(t, u);
}
