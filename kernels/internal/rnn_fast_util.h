// internal/rnn_fast_util.h: small helpers shared by the fast LSTM and GRU.
#pragma once

#include <algorithm>
#include <cstdint>

#include "qualm/kernels/gemm.h"

namespace qualm::kernels::internal {

inline GemmParams RnnGemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                          std::int64_t ldb, std::int64_t ldc, float beta) {
  GemmParams g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = static_cast<int>(m);
  g.n = static_cast<int>(n);
  g.k = static_cast<int>(k);
  g.lda = static_cast<int>(lda);
  g.ldb = static_cast<int>(ldb);
  g.ldc = static_cast<int>(ldc);
  g.beta = beta;
  return g;
}

// Threads for the per-step pointwise loop over batch rows: each row is
// independent (so any split gives the same bits); below ~2k elements per step
// the fork/join costs more than the transcendental functions.
inline int PointwiseThreads(int threads, std::int64_t batch, std::int64_t hidden) {
  if (threads <= 1 || batch * hidden < 2048) return 1;
  return static_cast<int>(std::min<std::int64_t>(threads, batch));
}

// rows x cols matrix (row stride ld): out[c] += sum over rows of m[r][c],
// each column a float sum from 0 in row order (as the references).
inline void AddColumnSums(std::int64_t rows, std::int64_t cols, const float* m, std::int64_t ld, float* acc_tmp,
                          float* out) {
  std::fill(acc_tmp, acc_tmp + cols, 0.0f);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) acc_tmp[c] += m[r * ld + c];
  for (std::int64_t c = 0; c < cols; ++c) out[c] += acc_tmp[c];
}

}  // namespace qualm::kernels::internal
