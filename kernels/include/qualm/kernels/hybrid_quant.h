// qualm/kernels/hybrid_quant.h: the hybrid (dynamic-quantization) family's shared
// contract and arithmetic. The ops are dense_hybrid.h, conv2d_hybrid.h and
// recurrent_hybrid.h (each states its outputs); they are the compute of qualm's
// `dynamic` PTQ scheme (engine/quant_spec.h): int8 weights, activations quantized
// to int8 at run time, float outputs. The same idea as TFLite's dynamic-range
// kernels and PyTorch's dynamic quantization, with the rules below (not
// bit-compatible with either).
// ---------------------------------------------------------------------------
// Operands and layouts (identical to the float kernels: dense.h, conv2d.h,
// recurrent.h)
//   weights  int8 in [-127, 127] (narrow, symmetric, zp 0; -128 is rejected).
//            One float scale per output channel, or exactly 1 (broadcast):
//              dense  w [out][in],                       scales [out] or [1]
//              conv   w OHWI [out_c][kh][kw][in_c/groups], scales [out_c] or [1]
//              LSTM   w_x [4H][I], w_h [4H][H] (gates i, f, g, o),
//                     w_x_scales / w_h_scales [4H] (one per row) or [1]
//              GRU    w_x [3H][I], w_h [3H][H] (gates z, r, n, "linear before
//                     reset" as gru_f32), scales [3H] or [1]
//            (No per-gate form as in recurrent_s8.h: the `dynamic` scheme stores
//            one scale per row, engine/quant_spec.h.)
//            The real weight is s_w[c] * w.
//   biases   float, as in the float kernels, each may be null (zero):
//            dense/conv bias [out]; LSTM bias [4H]; GRU b_x [3H] and b_h [3H].
//   inputs, outputs, states: float.
//
// Dynamic quantization of one SAMPLE (QuantizeSampleDynamic below):
//   sample   dense: one batch row x[b][0..in); conv: one whole image
//            x[n][..][..][..] (all channels, all groups); LSTM/GRU: x_t of one
//            batch row at one step, and SEPARATELY h_{t-1} of that row.
//   range    rmin = min(0, min x), rmax = max(0, max x) over the sample.
//   params   (s, zp) = ChooseQuantParams(rmin, rmax, -128, 127)      (requant.h)
//   values   q = QuantizeValue(x, s, zp, -128, 127, kHalfAwayFromZero)   (requant.h:
//            x / s in float, ties away from zero, + zp, clamp)
//   Two edge cases make this total (no error is possible at run time):
//   * zero or tiny range: when (float)(((double)rmax - (double)rmin) / 255), the
//     scale ChooseQuantParams would compute, is below the smallest normal float
//     (an all-zero sample, or |x| < ~3e-36 throughout, which ChooseQuantParams
//     would reject), the sample is quantized as all zeros: s = 1, zp = 0, q = 0
//     (what ChooseQuantParams gives an all-zero range). Its product is exactly 0
//     (the true product is below ~3e-36 * sum of the real |weights|). ChooseQuantParams is only
//     called when it cannot fail, so no error message is ever built (kernels
//     never allocate).
//   * non-finite: a sample holding a NaN or an infinity is not quantized; every
//     product it feeds is NaN (dense/conv: all outputs of that sample; RNN: the
//     gate pre-activations of that row and step, hence its state from then on).
//     A float kernel would give NaN or inf there too; a quantized "answer"
//     would hide the problem.
//   Why per sample and not per batch (PyTorch's dynamic quantization takes one
//   range over the whole input tensor, batch included; TFLite's hybrid kernels,
//   like these, one per batch row): a sample's result must never depend on
//   which other samples share its batch. With a batch-wide range, one large-magnitude sample would coarsen
//   every other sample's step, so predictions would change with the batch size
//   and batch composition; a study of float-vs-quantized disagreement must not
//   measure that. Per sample, the same input gives the same bits alone or in any
//   batch (tested).
//
// Products (one output channel / gate row c, sample quantized as (s_x, zp_x, q)):
//   acc = sum over k of int32(w[c][k]) * (int32(q[k]) - zp_x)        int32, exact
//     dense: k = i ascending. conv: (ky, kx, ci) nested, padding taps skipped,
//     i.e. padding reads zp_x (real 0.0) and contributes 0. The sum is exact
//     (Prepare checks K * 255 * 127 < 2^31, since |q - zp| <= 255, |w| <= 127),
//     so its order does not matter.
//   P(acc, s_x, s_w[c]) = (float)((double)acc * ((double)s_x * (double)s_w[c]))
//     (HybridProduct below). s_x * s_w is exact in double (two 24-bit
//     significands); the product with acc is rounded to double, then to float.
//     A product beyond the float range becomes +-inf (IEEE rounding, written
//     out: the C++ conversion would be undefined there), as in a float kernel.
// Outputs (each op's header gives its formula):
//   dense/conv  y = P(acc, s_x, s_w[c]) + bias[c]       (float add; no add if null)
//   LSTM/GRU    the float reference cell on P(...) pre-activations (recurrent_hybrid.h).
//
// Calling convention (TFLite Micro's Prepare / Eval split, like the int8 ops):
//   1. Prepare<Op>Hybrid(params, weights) validates once: the shape (Validate of
//      the float params struct), the weight-scale counts (per channel/row or 1)
//      and values (> 0 and finite), weights non-null and in [-127, 127]
//      (CheckWeightsS8), and the int32 bound K * 255 * 127 < 2^31 (K = in
//      features; kh * kw * in_c / groups; I and H separately for the RNNs).
//      Messages: "dense_hybrid: <field> ... got <value>" (ops dense_hybrid,
//      conv2d_hybrid, lstm_hybrid, gru_hybrid). The weights given to Prepare must
//      be the ones later passed to the kernel (Prepare reads them only to check).
//   2. ref::<op>_hybrid(prepared, ...): never validates (DCHECKs only), never
//      allocates. The caller passes `scratch` of at least
//      <op>_hybrid_scratch_bytes(shape) bytes, aligned for float (any float
//      buffer, such as the executor's scratch, will do). dense/conv keep one
//      quantized sample there; the RNNs also their float gate/state rows.
//   The RNNs are batch-first: x [B][T][I], y [B][T][H], h0/c0/h_n/c_n [B][H];
//   y, h_n, c_n may each be null (not wanted); h0, c0 may be null (zeros).
//
// Fast path (dense / conv only; the struct at the end of this file): bit-identical
// to the references, tests/kernels/hybrid_fast_test.cpp.
// Tests (tests/kernels/hybrid_test.cpp, hybrid_rnn_test.cpp): bit-exact
// against an independent oracle, against the float references within a bound
// derived from the quantization steps, batch independence, degenerate samples,
// Prepare rejections.
// ---------------------------------------------------------------------------
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

// ---------------------------------------------------------------------------
// The two shared pieces of arithmetic (inline: every hybrid kernel, and any
// future optimized path, must produce these exact bits).

// Result of quantizing one sample. `finite` is false when the sample holds a
// NaN or an infinity; then q was not written and the sample's products are NaN.
struct DynamicQuant {
  QuantParams params;  // (s, zp); (1, 0) for an all-zero or tiny sample
  bool finite = true;
};

// The parameters of a finite sample's range [lo, hi] (lo <= 0 <= hi), and
// whether the sample is quantized as all zeros (zero or tiny range: params
// (1, 0)): the statements of QuantizeSampleDynamic below, for its vectorized
// forms (detail/hybrid_quant_variants.h; equality on every input tested in
// hybrid_quant_fast_test.cpp). A copy on purpose: calling this from the
// frozen QuantizeSampleDynamic changed how GCC 12 compiles the reference
// hybrid LSTM around it (the sign of a NaN it propagates), so the reference
// text stays as it was.
inline bool DynamicRangeParams(float lo, float hi, QuantParams* params) {
  *params = QuantParams{};
  // ChooseQuantParams' own scale expression: below FLT_MIN it would fail (or,
  // for lo == hi == 0, return (1, 0)); handled here without building a Status.
  const float scale = static_cast<float>((static_cast<double>(hi) - static_cast<double>(lo)) /
                                         (static_cast<double>(kInt8Max) - static_cast<double>(kInt8Min)));
  const bool tiny = !(scale >= std::numeric_limits<float>::min());
  const Result<QuantParams> r = tiny ? Result<QuantParams>(*params) : ChooseQuantParams(lo, hi, kInt8Min, kInt8Max);
  QUALM_DCHECK(r.ok());  // finite bounds, lo <= 0 <= hi, normal scale: cannot fail
  if (tiny || !r.ok()) return true;
  *params = *r;
  return false;
}

// Quantizes x[0..n) as one sample (rules above) into q[0..n).
inline DynamicQuant QuantizeSampleDynamic(const float* x, std::int64_t n, std::int8_t* q) {
  float lo = 0.0f, hi = 0.0f;  // the range always includes 0
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) return {QuantParams{}, false};
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  DynamicQuant d;  // params (1, 0)
  // ChooseQuantParams' own scale expression: below FLT_MIN it would fail (or,
  // for lo == hi == 0, return (1, 0)); handled here without building a Status.
  const float scale = static_cast<float>((static_cast<double>(hi) - static_cast<double>(lo)) /
                                         (static_cast<double>(kInt8Max) - static_cast<double>(kInt8Min)));
  const bool tiny = !(scale >= std::numeric_limits<float>::min());
  const Result<QuantParams> r = tiny ? Result<QuantParams>(d.params) : ChooseQuantParams(lo, hi, kInt8Min, kInt8Max);
  QUALM_DCHECK(r.ok());  // finite bounds, lo <= 0 <= hi, normal scale: cannot fail
  if (tiny || !r.ok()) {
    for (std::int64_t i = 0; i < n; ++i) q[i] = 0;
    return d;
  }
  d.params = *r;
  for (std::int64_t i = 0; i < n; ++i) {
    q[i] = static_cast<std::int8_t>(
        QuantizeValue(x[i], d.params.scale, d.params.zero_point, kInt8Min, kInt8Max, RoundingMode::kHalfAwayFromZero));
  }
  return d;
}

// P(acc, s_x, s_w) = (float)((double)acc * ((double)s_x * (double)s_w)).
inline float HybridProduct(std::int32_t acc, float s_x, float s_w) {
  const double v = static_cast<double>(acc) * (static_cast<double>(s_x) * static_cast<double>(s_w));
  // A double beyond the float range would make the conversion undefined in
  // C++; IEEE round-to-nearest gives +-inf from FLT_MAX + half an ulp
  // (2^128 - 2^103) on, and that is what is returned. (v is never NaN.)
  constexpr double kFloatOverflow = 0x1p128 - 0x1p103;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!(std::fabs(v) < kFloatOverflow)) return v > 0 ? kInf : -kInf;
  return static_cast<float>(v);
}

// ---------------------------------------------------------------------------
// Fast path of dense_hybrid / conv2d_hybrid (fast:: in dense_hybrid.h and
// conv2d_hybrid.h): the int8 GEMM of int8_gemm.h on the quantized samples,
// with the exact int32 accumulators taken raw from the GEMM (the tiles' y32,
// detail/int8_gemm_variants.h) and the float epilogue HybridProduct + bias
// written out per element, so the result is the reference's bit for bit
// (the accumulator is the same exact integer, the float steps the same inline
// functions). Weights packed once, at prepare time:
struct PackedHybridWeights {
  // The int8 GEMM panels, made with input zero point 0: for a u8 x s8 variant
  // col_offset[c] = -128 * colsum[c]. Empty when the op runs its reference
  // (pure depthwise convs: conv2d_hybrid.h).
  PackedS8Weights s8;
  std::vector<std::int32_t> colsum;  // [out channels]: sum_k w[c][k] (|.| <= 127 K)
  bool reference_fallback = false;
};

}  // namespace qualm::kernels
