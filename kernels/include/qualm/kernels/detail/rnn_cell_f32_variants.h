// qualm/kernels/detail/rnn_cell_f32_variants.h: the per-ISA pointwise cells of
// the fast float LSTM / GRU (fast::lstm_f32, fast::gru_f32 and their
// backwards, recurrent.h), exposed for tests and benchmarks only. Engine code
// calls the fast:: entry points.
//
// Why they are bit-identical to the reference cell (kernels/internal/rnn_cell.h,
// shared by every ref:: recurrent kernel) on every ISA: vector lanes span the
// hidden index j, never a reduction, and lane j evaluates exactly the scalar
// cell's expressions for element j, one IEEE operation at a time in the same
// order (no FMA intrinsic; -ffp-contract=off keeps a*b+c two roundings), with
// the activations DetSigmoid / DetTanh of detail/det_math.h, whose single
// template body each ISA instantiates on its own vector type. The generic row
// IS the reference cell (its functions call internal/rnn_cell.h), so a test
// comparing a variant with the generic row compares it with the reference.
//
// Arguments are those of the reference cell functions (rnn_cell.h):
//   lstm_forward(H, zg[4H] in/out, c_prev[H] or null, c[H], h[H])
//   lstm_backward(H, gates[4H], c[H], c_prev[H] or null, dh[H], dc[H] in/out, dz[4H])
//   gru_forward(H, gx[3H] in/out, hh[3H], h_prev[H] or null, h[H], hn[H] or null)
//   gru_backward(H, gates[3H], hn[H], h_prev[H] or null, dh[H], dgx[3H], dhh[3H], dh_direct[H])
// The activation rows exp / tanh / sigmoid apply DetExp / DetTanh / DetSigmoid
// to n contiguous floats (y may equal x).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"

namespace qualm::kernels::detail {

struct RnnCellF32Variant {
  Isa isa;
  const char* name;
  void (*exp)(std::size_t n, const float* x, float* y);
  void (*tanh)(std::size_t n, const float* x, float* y);
  void (*sigmoid)(std::size_t n, const float* x, float* y);
  void (*lstm_forward)(std::int64_t H, float* zg, const float* c_prev, float* c, float* h);
  void (*lstm_backward)(std::int64_t H, const float* gates, const float* c, const float* c_prev, const float* dh,
                        float* dc, float* dz);
  void (*gru_forward)(std::int64_t H, float* gx, const float* hh, const float* h_prev, float* h, float* hn);
  void (*gru_backward)(std::int64_t H, const float* gates, const float* hn, const float* h_prev, const float* dh,
                       float* dgx, float* dhh, float* dh_direct);
};

// Every variant, best first, ending with the generic row (the reference cell).
const std::vector<RnnCellF32Variant>& RnnCellF32Variants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<RnnCellF32Variant> RunnableRnnCellF32Variants();
// The dispatcher's choice (resolved once), or the test override.
const RnnCellF32Variant& ActiveRnnCellF32Variant();
const char* RnnCellF32PathName();
std::string DescribeRnnCellF32Dispatch();

// Test-only hook, as ScopedGemmIsaForTesting: while alive, the fast:: LSTM /
// GRU run the cell variant for `isa`; ok() is false (nothing changes) if the
// CPU cannot run it.
class ScopedRnnCellF32IsaForTesting {
 public:
  explicit ScopedRnnCellF32IsaForTesting(Isa isa);
  ~ScopedRnnCellF32IsaForTesting();
  ScopedRnnCellF32IsaForTesting(const ScopedRnnCellF32IsaForTesting&) = delete;
  ScopedRnnCellF32IsaForTesting& operator=(const ScopedRnnCellF32IsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const RnnCellF32Variant* previous_ = nullptr;
};

// Per-ISA rows (fast/rnn_cell_f32_<isa>.cpp).
RnnCellF32Variant RnnCellF32Avx512();
RnnCellF32Variant RnnCellF32Avx2();
RnnCellF32Variant RnnCellF32Generic();

}  // namespace qualm::kernels::detail
