// qualm/kernels/onednn.h: conv2d, dense, and float LSTM / GRU through oneDNN
// primitives (the `--backend onednn` path, and the peer the benchmarks measure
// qualm against).
//
// Role: a thin, prepared wrapper. Prepare validates nothing qualm's own
// Prepare* did not (callers pass shapes and int8 parameters that already went
// through Validate / PrepareConv2dS8 / PrepareDenseS8), creates the oneDNN
// primitives once, and reorders the weights once into the layout each
// primitive asks for (format `any`). Run never creates primitives and never
// reorders weights. Activations stay in qualm's layouts (conv2d.h, dense.h:
// NHWC activations, OHWI weights), so the path plugs into the executors.
//
// Batch sizes. A oneDNN convolution is created for one batch size, while the
// engine runs any n <= max_batch. Prepare creates primitives for max_batch and
// for every power of two below it; Run covers n greedily with the largest
// prepared size that fits (n = 37 of 64: 32 + 4 + 1), so Run never creates a
// primitive. The cost is a few extra primitives per layer at prepare.
//
// Float (PrepareConv2dF32 / PrepareDenseF32): f32 everywhere. oneDNN sums in
// its own order (blocked K, FMA), so results match the reference within the
// float tolerance kernels/README.md states, not bit for bit.
//
// int8, two requantization choices (S8Requant):
//   kQualm        oneDNN computes the exact int32 accumulator
//                   acc = sum w * (x - zp_in)   (src zero point, padding reads zp_in)
//                 into an s32 buffer; qualm adds the bias and applies
//                 RequantizeOutputS8 (quantize_s8.h), the reference's output
//                 stage. Bit-identical to ref::conv2d_s8 / ref::dense_s8
//                 (tests/kernels/onednn_test.cpp). Prepare refuses, with a
//                 message, a primitive whose weights oneDNN would rescale
//                 (oneDNN halves s8 weights on x86 CPUs without VNNI; the
//                 accumulator would then not be exact).
//   kNativeScales oneDNN's own int8 output stage: s32 bias added in the
//                 accumulator domain, fp32 per-channel output scale
//                 (Requant::scale, the float of s_in * s_w / s_out), a clip to
//                 [act_min - zp_out, act_max - zp_out], dst zero point, round to
//                 nearest even and saturate to s8. This is what a user of oneDNN
//                 gets; it disagrees with the reference on a few outputs (by one
//                 unit: float rounding of the scale and of acc + bias, ties of
//                 the zero-point addition). The tests count the disagreements.
//
// Threads: the Debian oneDNN uses OpenMP; Prepare and Run set the calling
// thread's OpenMP thread count (omp_set_num_threads) to `threads` before
// creating or executing a primitive. oneDNN keeps small bookkeeping
// allocations of its own inside execute; qualm's side allocates nothing in Run.
//
// Float LSTM / GRU (PrepareLstmF32 / PrepareGruF32, kernels/onednn/recurrent.cpp):
// recurrent.h's formulation, only what qualm's models use: one layer,
// unidirectional, zero initial state, the whole sequence y (and, when asked
// for, the last hidden state h_n, copied from y's last step). qualm's LSTM gate
// order (i, f, g, o) is oneDNN's; qualm's GRU (z, r, n, reset applied after
// the recurrent product) is oneDNN's linear-before-reset GRU with gates
// (u, r, o), whose bias has a fourth row: [b_x + b_h for z and r, b_x for n,
// b_h for n]. qualm's w_x [G*H][I] / w_h [G*H][H] are oneDNN's `ldgoi`
// layout; Prepare reorders them once into the layout the primitive asks for.
// Primitives per batch size as above; oneDNN's scratchpad is user-managed and
// allocated at Prepare, so Run allocates nothing. oneDNN sums the gate
// products in its own order (the two bias halves of z and r pre-summed) and
// has its own exp/tanh, so results match ref::lstm_f32 / ref::gru_f32 within
// a tolerance (tests/kernels/onednn_rnn_test.cpp states it), not bit for bit.
// The int8 LSTM / GRU stay on qualm's own kernels: oneDNN's int8 RNN has other
// arithmetic (u8 data with one scale, f32 gates), not qualm's 8x8_16 integer cells.
//
// Without oneDNN (configured with QUALM_WITH_ONEDNN=OFF) Available() is false
// and every Prepare returns Unimplemented with kUnavailableMessage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/recurrent.h"
#include "qualm/status.h"

namespace qualm::kernels::onednn {

inline constexpr const char* kUnavailableMessage =
    "the oneDNN backend is not available in this build (configured with QUALM_WITH_ONEDNN=OFF)";

// Whether this build has the oneDNN path.
bool Available();
// "oneDNN 2.6.3 (cpu runtime: OpenMP, isa avx512_core_amx)" or "not in this build".
std::string Describe();

enum class S8Requant : std::uint8_t { kQualm = 0, kNativeScales = 1 };
const char* S8RequantName(S8Requant r);  // "qualm-requant", "onednn-fp32-scales"

// A prepared float op for batches n <= the prepared max batch.
class PreparedF32 {
 public:
  virtual ~PreparedF32() = default;
  // x, y in qualm's layouts, n samples.
  virtual void Run(int n, const float* x, float* y) = 0;
  // oneDNN's implementation name for the max batch, e.g. "brg:avx512_core".
  virtual std::string ImplName() const = 0;
};

// A prepared int8 op.
class PreparedS8 {
 public:
  virtual ~PreparedS8() = default;
  virtual void Run(int n, const std::int8_t* x, std::int8_t* y) = 0;
  virtual std::string ImplName() const = 0;
};

// p.batch is the max batch. w, bias as conv2d.h / dense.h (bias may be null);
// they are copied (reordered) here and not read again.
Result<std::unique_ptr<PreparedF32>> PrepareConv2dF32(const Conv2dParams& p, const float* w, const float* bias,
                                                      int threads);
Result<std::unique_ptr<PreparedF32>> PrepareDenseF32(const DenseParams& p, const float* w, const float* bias,
                                                     int threads);

// p from PrepareConv2dS8 / PrepareDenseS8 (p.shape.batch = the max batch), w and
// bias the ones given to it; they are copied (reordered) here.
Result<std::unique_ptr<PreparedS8>> PrepareConv2dS8(const PreparedConv2dS8& p, const std::int8_t* w,
                                                    const std::int32_t* bias, S8Requant requant, int threads);
Result<std::unique_ptr<PreparedS8>> PrepareDenseS8(const PreparedDenseS8& p, const std::int8_t* w,
                                                   const std::int32_t* bias, S8Requant requant, int threads);

// A prepared float LSTM or GRU for batches n <= the prepared max batch.
class PreparedRnnF32 {
 public:
  virtual ~PreparedRnnF32() = default;
  // x [n][seq_len][input], y [n][seq_len][hidden] (always written),
  // h_n [n][hidden] or null. The initial state is zero.
  virtual void Run(int n, const float* x, float* y, float* h_n) = 0;
  virtual std::string ImplName() const = 0;
};

// p.batch is the max batch. Weights as recurrent.h (w_x and w_h required,
// biases may be null = zero); they are copied (reordered) here and not read again.
Result<std::unique_ptr<PreparedRnnF32>> PrepareLstmF32(const RnnParams& p, const LstmWeights& w, int threads);
Result<std::unique_ptr<PreparedRnnF32>> PrepareGruF32(const RnnParams& p, const GruWeights& w, int threads);

}  // namespace qualm::kernels::onednn
