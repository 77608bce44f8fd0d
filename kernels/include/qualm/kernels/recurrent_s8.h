// qualm/kernels/recurrent_s8.h: integer LSTM (TFLite "8x8_16") and integer GRU
// (qualm's design in the same spirit), frozen scalar references.
//
// Layouts are the float RNNs' (recurrent.h): batch-first x int8 [B][T][I],
// y int8 [B][T][H]; LSTM gate order i, f, g, o with w_x [4H][I], w_h [4H][H];
// GRU gate order z, r, n, "linear before reset" like qualm's float gru_f32,
// with w_x [3H][I], w_h [3H][H].
//
// ---------------------------------------------------------------------------
// Number formats
//   x      int8, scale s_x, zero point zp_x (asymmetric)
//   h      int8, scale s_h, zero point zp_h (asymmetric): the output y, h_n and
//          the operand of the recurrent product
//   w_x    int8 in [-127, 127], zp 0. Scales per weight matrix like TFLite's
//   w_h    eight (LSTM) / six (GRU) gate tensors: w_x_scales / w_h_scales hold 1
//          entry (whole matrix), G entries (one per gate block of H rows, the
//          TFLite layout) or G*H entries (one per row). G = 4 (LSTM) or 3 (GRU).
//   bias   int32. LSTM: ONE bias [4H], added to the input-side product, at scale
//          s_x * s_wx[row] (as TFLite). GRU: b_x [3H] at s_x * s_wx[row] and
//          b_h [3H] at s_h * s_wh[row]. Any bias may be null (zero).
//   pre-activations  int16 Q3.12 (scale 2^-12, range [-8, 8))
//   gate outputs     int16 Q0.15 (scale 2^-15; 1.0 saturates to 32767)
//   LSTM cell c      int16, scale 2^e (e = cell_exponent, from cell_scale, which
//                    must be an exact power of two, e in [-15, -3]: tanh(c) reads
//                    c with 15 + e integer bits, and fixedpoint.h supports 0..12;
//                    TFLite accepts e in [-15, -9])
//   GRU state s      int16 Q0.15: the real hidden state (in [-1, 1]); h is its
//                    int8 requantization (see below)
//
// Shared step: the requantized gate product (RQ = requant.h's
// MultiplyByQuantizedMultiplier in the prepared RequantMode; sat16 = clamp to int16)
//   acc_x[r] = sum_i w_x[r][i] * (x[i] - zp_x) + bias_x[r]          (int32, exact)
//   acc_h[r] = sum_j w_h[r][j] * (h[j] - zp_h) + bias_h[r]          (int32, exact)
//   a[r]   = sat16(RQ(acc_x[r], M_x[r])),  M_x[r] = s_x * s_wx[r] / 2^-12
//   b[r]   =       RQ(acc_h[r], M_h[r]),   M_h[r] = s_h * s_wh[r] / 2^-12
//   pre[r] = sat16(a[r] + b[r])            (in int64; as TFLite, which accumulates
//                                           the recurrent product onto the int16
//                                           input product and saturates once)
// The zero-point terms are folded at prepare (as TFLite): the kernel computes
//   acc_x[r] = sum_i w_x[r][i] * x[i] + (bias[r] - zp_x * sum_i w_x[r][i])
// and alike for acc_h; Prepared*::bias_x / bias_h hold the folded int32 terms.
// It is the same integer (the sums cannot overflow: Prepare checks
// K * 127 * 128 + max|folded bias| < 2^31, K = I or H).
//
// LSTM step (per batch row, per unit j; P = fixedpoint.h):
//   i = P::SigmoidQ3_12(pre[j])        f = P::SigmoidQ3_12(pre[H + j])
//   g = P::TanhQ3_12(pre[2H + j])      o = P::SigmoidQ3_12(pre[3H + j])     (Q0.15)
//   c = SaturatingAdd16(MulRoundingShift16(f, c, 15),            // f*c at 2^e
//                       MulRoundingShift16(i, g, 30 + e))        // i*g: 2^-30 -> 2^e
//   t = P::TanhInt16(c, 15 + e)                                   (Q0.15)
//   h = RequantizeToRange(o * t, M_out, mode, zp_h, -128, 127),  M_out = 2^-30 / s_h
//   (o * t is the exact int32 product of two Q0.15 values, scale 2^-30.)
// Initial state: h0 (int8) and c0 (int16 at 2^e); null means zero (h = zp_h, c = 0).
// TFLite's options not implemented: cell clip, projection, peephole, layer norm.
//
// GRU step (qualm's design; no standard integer GRU exists):
//   z = P::SigmoidQ3_12(pre[j])        r = P::SigmoidQ3_12(pre[H + j])      (Q0.15)
//   The n row keeps its two products apart (linear before reset):
//   xn = sat16(RQ(acc_x[2H + j], M_x))                    Q3.12, includes b_xn
//   hn = sat16(RQ(acc_h[2H + j], M_h))                    Q3.12, includes b_hn
//   n  = P::TanhQ3_12(SaturatingAdd16(xn, MulRoundingShift16(r, hn, 15)))
//        (r * hn: Q0.15 x Q3.12 -> Q3.12, rounded like the LSTM's f * c)  (Q0.15)
//   s' = sat16(n + RoundingDivideByPOT(z * (s - n), 15))   (int32; Q0.15)
//        = (1 - z) * n + z * s with a single rounding: 1 - z is never formed, so
//        a gate at its maximum 32767/32768 keeps s to within one unit.
//        |z * (s - n)| <= 32767 * 65535 < 2^31.
//   h' = RequantizeToRange(s', M_s, mode, zp_h, -128, 127),  M_s = 2^-15 / s_h
// Why an int16 state: the GRU's hidden state is its memory (the LSTM's cell
// plays that role), and its values are convex combinations of tanh outputs, so
// Q0.15 holds them with 2^-15 resolution. Carrying only the int8 h would round
// the memory to s_h every step. h is requantized (any s_h, zp_h) instead of
// being fixed at 2^-7: a calibrated range narrower than [-1, 1] then buys
// resolution. s_h = 2^-7, zp_h = 0 covers [-1, 127/128] and makes M_s = 2^-8.
// Initial state: s0 (int16 Q0.15), null means zero; h0 = requantized s0.
//
// Outputs: y [B][T][H] int8, h_n [B][H] int8, c_n / s_n [B][H] int16 (the LSTM
// cell at 2^e / the GRU state in Q0.15); each may be null.
//
// Prepare validates everything once (messages "lstm_s8: <field> ... got <value>"):
// shape (Validate(RnnParams)), input/hidden scale > 0 and finite and zero point
// in [-128, 127], weight scale counts and values, the cell scale (LSTM), the
// requant mode, weights non-null and in [-127, 127], every multiplier
// representable (M_x, M_h, M_out / M_s), and the int32 accumulator bound. It
// reads the weights and biases (the model's constants, which must be the ones
// later passed to the kernel) to check them and fold the zero points.
// The kernels never validate and never allocate: the caller passes `scratch`
// of lstm_s8_scratch_int16 / gru_s8_scratch_int16 int16 elements.
// ---------------------------------------------------------------------------
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/fixedpoint.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/recurrent.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

// Cell exponents the LSTM accepts: tanh(c) needs 15 + e in [0, kMaxTanhIntegerBits].
inline constexpr int kLstmS8MinCellExponent = -15;
inline constexpr int kLstmS8MaxCellExponent = fixedpoint::kMaxTanhIntegerBits - 15;  // -3

struct LstmS8Params {
  RnnParams shape;
  QuantParams input;               // s_x, zp_x
  QuantParams hidden;              // s_h, zp_h
  std::vector<float> w_x_scales;   // 1, 4 or 4H entries
  std::vector<float> w_h_scales;   // 1, 4 or 4H entries
  float cell_scale = 1.0f / 2048;  // 2^e, e in [-15, -3] (default 2^-11: c in [-16, 16))
  RequantMode mode = RequantMode::kGemmlowp;
};

struct LstmS8Weights {
  const std::int8_t* w_x = nullptr;    // [4H][I]
  const std::int8_t* w_h = nullptr;    // [4H][H]
  const std::int32_t* bias = nullptr;  // [4H] at s_x * s_wx[row]; read by Prepare only (folded)
};

struct PreparedLstmS8 {
  RnnParams shape;
  std::int32_t input_zero_point = 0;
  std::int32_t hidden_zero_point = 0;
  int cell_exponent = -11;
  fixedpoint::TanhInt16Fn tanh_cell = nullptr;  // TanhInt16 with 15 + cell_exponent integer bits
  RequantMode mode = RequantMode::kGemmlowp;
  std::vector<Requant> requant_x;    // [4H] s_x * s_wx[r] / 2^-12
  std::vector<Requant> requant_h;    // [4H] s_h * s_wh[r] / 2^-12
  Requant requant_out;               // 2^-30 / s_h
  std::vector<std::int32_t> bias_x;  // [4H] bias[r] - zp_x * sum_i w_x[r][i]
  std::vector<std::int32_t> bias_h;  // [4H] -zp_h * sum_j w_h[r][j]
};

struct GruS8Params {
  RnnParams shape;
  QuantParams input;              // s_x, zp_x
  QuantParams hidden;             // s_h, zp_h
  std::vector<float> w_x_scales;  // 1, 3 or 3H entries
  std::vector<float> w_h_scales;  // 1, 3 or 3H entries
  RequantMode mode = RequantMode::kGemmlowp;
};

struct GruS8Weights {
  const std::int8_t* w_x = nullptr;   // [3H][I]
  const std::int8_t* w_h = nullptr;   // [3H][H]
  const std::int32_t* b_x = nullptr;  // [3H] at s_x * s_wx[row]; read by Prepare only (folded)
  const std::int32_t* b_h = nullptr;  // [3H] at s_h * s_wh[row]; read by Prepare only (folded)
};

struct PreparedGruS8 {
  RnnParams shape;
  std::int32_t input_zero_point = 0;
  std::int32_t hidden_zero_point = 0;
  RequantMode mode = RequantMode::kGemmlowp;
  std::vector<Requant> requant_x;    // [3H] s_x * s_wx[r] / 2^-12
  std::vector<Requant> requant_h;    // [3H] s_h * s_wh[r] / 2^-12
  Requant requant_out;               // 2^-15 / s_h
  std::vector<std::int32_t> bias_x;  // [3H] b_x[r] - zp_x * sum_i w_x[r][i]
  std::vector<std::int32_t> bias_h;  // [3H] b_h[r] - zp_h * sum_j w_h[r][j]
};

Result<PreparedLstmS8> PrepareLstmS8(const LstmS8Params& p, const LstmS8Weights& w);
Result<PreparedGruS8> PrepareGruS8(const GruS8Params& p, const GruS8Weights& w);

// The activations and states of one call. Only x is required: a null initial
// state is the zero state, a null output is not written.
struct LstmS8Io {
  const std::int8_t* x = nullptr;    // [B][T][I]
  const std::int8_t* h0 = nullptr;   // [B][H] or null (h = zp_h)
  const std::int16_t* c0 = nullptr;  // [B][H] at 2^e, or null (c = 0)
  std::int8_t* y = nullptr;          // [B][T][H] or null
  std::int8_t* h_n = nullptr;        // [B][H] or null
  std::int16_t* c_n = nullptr;       // [B][H] or null
};
struct GruS8Io {
  const std::int8_t* x = nullptr;    // [B][T][I]
  const std::int16_t* s0 = nullptr;  // [B][H] Q0.15, or null (s = 0; h0 = requantized s0)
  std::int8_t* y = nullptr;          // [B][T][H] or null
  std::int8_t* h_n = nullptr;        // [B][H] or null
  std::int16_t* s_n = nullptr;       // [B][H] or null
};

namespace ref {
// int16 elements of scratch the kernels need (6 * hidden_size each).
std::size_t lstm_s8_scratch_int16(const RnnParams& p);
std::size_t gru_s8_scratch_int16(const RnnParams& p);

// Reads w.w_x and w.w_h (the biases live, folded, in the prepared op).
void lstm_s8(const PreparedLstmS8& p, const LstmS8Weights& w, const LstmS8Io& io, std::int16_t* scratch);
void gru_s8(const PreparedGruS8& p, const GruS8Weights& w, const GruS8Io& io, std::int16_t* scratch);
}  // namespace ref

// ---------------------------------------------------------------------------
// Fast paths (fast::lstm_s8 / fast::gru_s8), BIT-EXACT to the references above
// on every ISA (tests/kernels/int8_rnn_fast_test.cpp):
//   * the input product of the (b, t) rows is one int8 GEMM per block of steps
//     (about 64 rows), the recurrent product one GEMM of B rows per step, both
//     through the dispatched int8 GEMM (int8_gemm.h) in its raw int32 mode with
//     zero point 0, so each accumulator is sum_k w * v exactly; the folded bias
//     is added after. Integer addition is exact in any order as long as the
//     final value fits (Prepare's bound), and the GEMM's vpaddd / vpdpbusd wrap
//     modulo 2^32, so the int32 equals the reference's acc bit for bit. The
//     split into two GEMMs changes nothing either: the reference requantizes
//     acc_x and acc_h separately (it never adds them as int32);
//   * the requantization, saturation, gates, cell and hidden arithmetic run in
//     a per-ISA "gate stage" (detail/recurrent_s8_variants.h): AVX-512 or
//     AVX2 int16 / int32 lanes computing fixedpoint.h's functions (checked on
//     all 65536 int16 inputs), or the scalar functions themselves (generic).
// Pack once (after Prepare, with the same weights); the kernels never allocate:
// scratch of fast::lstm_s8_scratch_int16 / gru_s8_scratch_int16 int16 elements
// (any alignment; the kernels align inside it) for p.shape's batch and seq_len,
// which also covers every smaller batch / sequence.

// One gate product's per-row requantization (M_x or M_h above) and folded
// bias, also in the lane forms of the AVX2 and AVX-512 gate stages (fast/
// recurrent_s8_gates_avx2.h, _avx512.h). Rows are padded to a multiple of
// detail::kRnnS8RowPad = 32; padding rows have M = 0, bias 0 (computed, never read).
struct RnnS8RowRequant {
  std::int64_t rows = 0;  // G*H
  RequantMode mode = RequantMode::kGemmlowp;
  std::vector<Requant> requant;     // [rows]
  std::vector<std::int32_t> bias;   // [padded] folded bias
  std::vector<std::int32_t> multiplier, left, sat_hi, sat_lo, right, mask, half;  // [padded] kGemmlowp
  bool any_left = false;            // some row has a left shift (shift > 0)
  std::vector<std::int32_t> t;      // [padded] kSingle: 31 - shift
  std::vector<float> scale;         // [padded] kFloat
  // [padded] The AVX-512 stage's 64-bit lane form (fast/recurrent_s8_gates_avx512.h,
  // the merged one-shift formula of fast/int8_gemm_avx512.h): in each block of 16
  // rows at r0, entries r0 .. r0+7 belong to rows r0, r0+2, .., r0+14 (the even
  // int32 lanes, the first vpmuldq) and r0+8 .. r0+15 to rows r0+1, .., r0+15.
  // kGemmlowp: add = 2^30 + 2^(30+e), below = -2^30 (INT64_MIN where e = 0),
  // shift = 31 + e with e = max(-shift, 0); kSingle: add = 2^(t-1), shift = t.
  std::vector<std::int64_t> mul64, add64, below64, shift64;
};
struct PackedRnnS8 {
  PackedS8Weights w_x;  // the G*H rows of w_x as GEMM columns, K = I, zero point 0
  PackedS8Weights w_h;  // the G*H rows of w_h as GEMM columns, K = H, zero point 0
  RnnS8RowRequant rq_x;  // M_x, bias_x
  RnnS8RowRequant rq_h;  // M_h, bias_h
};
PackedRnnS8 PackLstmS8Weights(const PreparedLstmS8& p, const LstmS8Weights& w);
PackedRnnS8 PackGruS8Weights(const PreparedGruS8& p, const GruS8Weights& w);

namespace fast {
std::size_t lstm_s8_scratch_int16(const RnnParams& p);
std::size_t gru_s8_scratch_int16(const RnnParams& p);
// Bit-identical to ref::lstm_s8 / ref::gru_s8 with the weights `packed` was made from.
void lstm_s8(const PreparedLstmS8& p, const PackedRnnS8& packed, const LstmS8Io& io, std::int16_t* scratch);
void gru_s8(const PreparedGruS8& p, const PackedRnnS8& packed, const GruS8Io& io, std::int16_t* scratch);
// The gate stage's variant name, e.g. "s8_rnn_gates_16c__avx2".
const char* RnnS8GatesPathName();
}  // namespace fast

}  // namespace qualm::kernels
