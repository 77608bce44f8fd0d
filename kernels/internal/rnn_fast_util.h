// internal/rnn_fast_util.h: small helpers shared by the fast LSTM and GRU.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "qualm/kernels/gemm.h"

namespace qualm::kernels::internal {

// The per-step GEMMs read W_h through panels packed once per call
// (gemm.h, PackGemmBInto) instead of packing it on every step, which at batch
// 1 cost more than the product. The step GEMMs run on one thread, so the
// panels are always used; they hold the same values, so the bits are the
// same. Forward: h_{t-1} * W_h^T (op(B) = W_h^T: k = H, n = G); backward:
// dZ_t * W_h (k = G, n = H). Scratch for either: WhPackFloats.
inline GemmParams WhForwardParams(std::int64_t G, std::int64_t H) {
  GemmParams g;
  g.trans_b = true, g.k = static_cast<int>(H), g.n = static_cast<int>(G), g.ldb = static_cast<int>(H);
  return g;
}
inline GemmParams WhBackwardParams(std::int64_t G, std::int64_t H) {
  GemmParams g;
  g.k = static_cast<int>(G), g.n = static_cast<int>(H), g.ldb = static_cast<int>(H);
  return g;
}
inline std::size_t WhPackFloats(std::int64_t G, std::int64_t H) {
  return std::max(PackedGemmBFloats(WhForwardParams(G, H)), PackedGemmBFloats(WhBackwardParams(G, H)));
}
// w_h packed into buf as `as` says; returns `as` with b_packed set (null if
// the variant cannot pack: the steps then pack as before).
inline GemmParams PackWh(GemmParams as, const float* w_h, float* buf) {
  as.b_packed_nr = PackGemmBInto(as, w_h, buf);
  as.b_packed = as.b_packed_nr > 0 ? buf : nullptr;
  return as;
}

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

// Batch rows are independent through the whole recurrence (row b of h_t
// depends only on row b of h_{t-1}), so the time loop is split by batch rows:
// each thread runs its own slice of the batch through every step, with
// single-threaded per-step GEMMs, and there is one fork/join per recurrence
// instead of one or two per step (which, on a loaded machine, costs a
// scheduler time slice each). Slices are contiguous and fixed by (batch,
// threads); gemm_f32 computes each row the same way whatever the slicing, so
// every thread count gives the same bits. Below
// ~16k gate elements per step the recurrence runs on one thread.
inline int RecurrenceThreads(int threads, std::int64_t batch, std::int64_t gate_width) {
  if (threads <= 1 || batch * gate_width < 16 * 1024) return 1;
  return static_cast<int>(std::min<std::int64_t>(threads, batch));
}

// Runs body(b0, b1) over `threads` contiguous slices of [0, batch).
template <typename Body>
void ForBatchSlices(int threads, std::int64_t batch, const Body& body) {
  if (threads <= 1) {
    body(std::int64_t{0}, batch);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int tid = 0; tid < threads; ++tid) body(batch * tid / threads, batch * (tid + 1) / threads);
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

// hp[b][t] = h_{t-1} of sequence b: h0[b] (zeros when null) for t = 0, else
// y[b][t-1]. The recurrent weight gradient is then one GEMM dG^T * hp.
inline void GatherPreviousHidden(std::int64_t B, std::int64_t T, std::int64_t H, const float* y, const float* h0,
                                 float* hp) {
  for (std::int64_t b = 0; b < B; ++b) {
    if (h0) std::memcpy(hp + b * T * H, h0 + b * H, sizeof(float) * static_cast<std::size_t>(H));
    else std::fill(hp + b * T * H, hp + b * T * H + H, 0.0f);
    std::memcpy(hp + (b * T + 1) * H, y + b * T * H, sizeof(float) * static_cast<std::size_t>((T - 1) * H));
  }
}

}  // namespace qualm::kernels::internal
