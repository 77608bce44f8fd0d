// ONNX node tests for the integer ops through qualm's int8 reference kernels
// (int8_ops.h, qlinear_quant.h). Every comparison is EXACT, element for element.
//
// uint8 <-> int8: ONNX uses uint8 activations in most of these cases; qualm's
// kernels are int8. The harness maps q_u8 -> q_u8 - 128 for data AND zero points
// (so q - zp, the only thing the arithmetic sees, is unchanged) and results back
// with + 128, the clamp range [0, 255] becoming [-128, 127]. This is exact: no
// value changes, only the offset of the representation. Weights are mapped the
// same way when they go to qlinear_quant.h (any int8 value, with a zero point).
//
// Rounding: QuantizeLinear rounds half to even (RoundingMode::kHalfToEven);
// QLinearConv / QLinearMatMul requantize in float with round-half-even
// (RequantMode::kFloat), the only mode they run in: ONNX specifies it.
//
// Weights: QLinearConv / QLinearMatMul have weight zero points (w_zero_point
// 255 on uint8 weights, b_zero_point 114), so they run through the
// asymmetric-weight family qlinear_quant.h (qlinear_conv_s8, qlinear_matmul_s8:
// acc = sum (w - zp_w)(x - zp_x), each factor up to 255; zero point per tensor or
// per output channel / column of B). conv2d_s8 / dense_s8 stay TFLite's
// symmetric scheme (zp 0, [-127, 127]); ConvInteger / MatMulInteger go through
// them and decline a non-zero weight zero point (none in this data).
//
// ConvInteger / MatMulInteger output the int32 accumulator sum (w - zp_w)(x - zp_x).
// The int8 kernel API has no int32-output path, so the harness runs conv2d_s8 /
// dense_s8 with an IDENTITY requantization (all scales 1: M = 2^30, shift = 1,
// exact in all three RequantMode values, each run) and output zero point 0: the
// int8 output then IS the accumulator, provided every accumulator lies in
// [-128, 127]. The harness checks that on the expected output and declines the
// case otherwise. This exercises the kernels' integer accumulation, zero-point
// handling and padding (padding taps read zp_x, as ONNX ConvInteger's).
//
// case                          | runs | reason when not / note
// ------------------------------+------+-----------------------------------------------------------------
// test_quantizelinear           | yes  | uint8, per tensor (x = 3 / 2 -> 2, 1000 -> 255)
// test_quantizelinear_axis      | yes  | uint8, per channel (axis 1): quantize_s8 per channel slice
// test_dequantizelinear         | yes  | uint8, per tensor
// test_dequantizelinear_axis    | yes  | uint8, per channel (axis 1)
// test_basic_convinteger        | yes  | identity requant; accumulators 12..28
// test_convinteger_with_padding | yes  | identity requant; padding = x_zero_point
// test_convinteger_without_padding | yes | identity requant
// test_matmulinteger            | yes  | identity requant; a_zero_point 12, b_zero_point 0;
//                               |      | accumulators -128..-38 (fit)
// test_qlinearconv              | yes  | qlinear_conv_s8 fp32; 1x1 weight 0 with w_zero_point 255
//                               |      | (int8: -128, zp 127, w - zp = -255), x_zero_point 132
// test_qlinearmatmul_2D         | yes  | qlinear_matmul_s8 fp32; b_zero_point 114 (b - zp in
//                               |      | [-114, 141]), a_zero_point 113; outputs saturate at 255
// test_qlinearmatmul_3D         | yes  | as 2D, batch 2 with a B per batch
// test_maxpool_2d_uint8         | yes  | max_pool2d_s8 (order-preserving u8 -> s8 shift), pads 2
// Note: neither QuantizeLinear case holds a tie whose even and away-from-zero
// roundings differ (3 / 2 = 1.5 -> 2 both ways), so this data does not pin the
// rounding rule; the kernels' own tests do (tests/kernels). Likewise no
// QLinear output lies near a .5 tie (QLinearConv's real outputs are within 1e-5
// of integers; QLinearMatMul's closest is 136.555, 0.055 from one), so the data
// pins the accumulation and zero points but cannot tell the three
// RequantModes apart.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "conformance.h"
#include "qualm/kernels/int8_ops.h"
#include "qualm/kernels/qlinear_conv_s8.h"
#include "qualm/kernels/qlinear_matmul_s8.h"

namespace qk = qualm::kernels;
using namespace qualm_onnx;

namespace {

bool IsInt8Like(const Tensor* t) { return t && (t->type == ElemType::kUint8 || t->type == ElemType::kInt8); }
// The int8 offset of a tensor's representation: 128 for uint8, 0 for int8.
std::int64_t Offset(const Tensor& t) { return t.type == ElemType::kUint8 ? 128 : 0; }

std::vector<std::int8_t> ToS8(const Tensor& t) {
  std::vector<std::int8_t> v(t.ints.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int8_t>(t.ints[i] - Offset(t));
  return v;
}

// A zero point tensor (scalar or 1-D) read at channel c (0 when absent), already
// shifted to int8 with the offset of `data_type` (the zero point has the data's type).
std::int32_t ZeroPointS8(const Tensor* zp, std::size_t c, const Tensor& data) {
  if (!zp) return static_cast<std::int32_t>(-Offset(data));
  const std::int64_t v = zp->ints.size() == 1 ? zp->ints[0] : zp->ints.at(c);
  return static_cast<std::int32_t>(v - Offset(*zp));
}
bool AllZero(const Tensor* zp) {
  if (!zp) return true;
  for (auto v : zp->ints)
    if (v != 0) return false;
  return true;
}
float ScalarAt(const Tensor& t, std::size_t c) { return t.f.size() == 1 ? t.f[0] : t.f.at(c); }

std::string WeightsDecline(const Tensor& w, const Tensor* w_zp, const char* zp_name) {
  if (!AllZero(w_zp))
    return std::string(zp_name) + " " + std::to_string(w_zp->ints[0]) +
           " is not 0: qualm's int8 weights are symmetric (no weight zero point)";
  for (auto v : w.ints)
    if (v < -127 || v > 127) return "weight value " + std::to_string(v) + " outside [-127, 127]";
  return "";
}

// The int8 view of the weights: values are unchanged (zero point 0), only the type.
std::vector<std::int8_t> WeightsS8(const std::vector<std::int64_t>& v) {
  return std::vector<std::int8_t>(v.begin(), v.end());
}

// ---------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear (opset 13: per tensor, or per `axis` channel).
struct Slices {
  std::int64_t outer = 1, channels = 1, inner = 1;
};
Slices SlicesFor(const Case& c, const Tensor& x, const Tensor& scale) {
  Slices s;
  if (scale.f.size() <= 1) {
    s.inner = x.size();
    return s;
  }
  std::int64_t axis = c.Int("axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(x.dims.size());
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(x.dims.size()); ++i) {
    const std::int64_t d = x.dims[static_cast<std::size_t>(i)];
    (i < axis ? s.outer : i == axis ? s.channels : s.inner) *= d;
  }
  return s;
}

Outcome RunQuantize(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* scale = c.Input(1);
  const Tensor* zp = c.Input(2);
  const Tensor* want = c.Output(0);
  if (!x || !scale || !want || !x->is_float()) return Decline("missing inputs");
  if (!IsInt8Like(want)) return Decline("output type is not int8 / uint8");
  const Slices s = SlicesFor(c, *x, *scale);
  Outcome o;
  o.ran = true;
  std::vector<std::int8_t> y(x->f.size());
  for (std::int64_t ch = 0; ch < s.channels; ++ch) {
    qk::QuantizeS8Params p;
    p.count = s.inner;
    p.q = {ScalarAt(*scale, static_cast<std::size_t>(ch)), ZeroPointS8(zp, static_cast<std::size_t>(ch), *want)};
    p.rounding = qk::RoundingMode::kHalfToEven;
    if (const auto st = qk::Validate(p); !st.ok()) {
      o.Check(c.name + ": " + st.ToString());
      return o;
    }
    for (std::int64_t out = 0; out < s.outer; ++out) {
      const std::int64_t at = (out * s.channels + ch) * s.inner;
      qk::ref::quantize_s8(p, x->f.data() + at, y.data() + at);
    }
  }
  std::vector<std::int64_t> got(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) got[i] = y[i] + Offset(*want);
  o.Check(CompareExact(What(c, "y", "ref quantize_s8 half-to-even"), got, *want));
  return o;
}

Outcome RunDequantize(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* scale = c.Input(1);
  const Tensor* zp = c.Input(2);
  const Tensor* want = c.Output(0);
  if (!x || !scale || !want) return Decline("missing inputs");
  if (!IsInt8Like(x)) return Decline(std::string(ElemTypeName(x->type)) + " input: qualm dequantizes int8 only");
  const Slices s = SlicesFor(c, *x, *scale);
  const auto xs = ToS8(*x);
  Outcome o;
  o.ran = true;
  std::vector<float> y(xs.size());
  for (std::int64_t ch = 0; ch < s.channels; ++ch) {
    qk::QuantizeS8Params p;
    p.count = s.inner;
    p.q = {ScalarAt(*scale, static_cast<std::size_t>(ch)), ZeroPointS8(zp, static_cast<std::size_t>(ch), *x)};
    if (const auto st = qk::Validate(p); !st.ok()) {
      o.Check(c.name + ": " + st.ToString());
      return o;
    }
    for (std::int64_t out = 0; out < s.outer; ++out) {
      const std::int64_t at = (out * s.channels + ch) * s.inner;
      qk::ref::dequantize_s8(p, xs.data() + at, y.data() + at);
    }
  }
  o.Check(CompareFloat(What(c, "y", "ref dequantize_s8"), y, *want, 0, 0));  // exact
  return o;
}

// ---------------------------------------------------------------------------
// Convolutions: ConvInteger (identity requant, conv2d_s8) and QLinearConv
// (kFloat, qlinear_conv_s8).
struct ConvGeometry {
  qk::Conv2dParams p;
  std::string why;  // non-empty: declined
};
ConvGeometry ConvShape(const Case& c, const Tensor& x, const Tensor& w) {
  ConvGeometry g;
  if (x.dims.size() != 4 || w.dims.size() != 4) {
    g.why = "not a 2-D convolution";
    return g;
  }
  auto& p = g.p;
  const auto strides = c.Ints("strides", {1, 1});
  const auto dilations = c.Ints("dilations", {1, 1});
  p.batch = static_cast<int>(x.dim(0)), p.in_c = static_cast<int>(x.dim(1));
  p.in_h = static_cast<int>(x.dim(2)), p.in_w = static_cast<int>(x.dim(3));
  p.out_c = static_cast<int>(w.dim(0)), p.kernel_h = static_cast<int>(w.dim(2)), p.kernel_w = static_cast<int>(w.dim(3));
  p.stride_h = static_cast<int>(strides.at(0)), p.stride_w = static_cast<int>(strides.at(1));
  p.dilation_h = static_cast<int>(dilations.at(0)), p.dilation_w = static_cast<int>(dilations.at(1));
  p.groups = static_cast<int>(c.Int("group", 1));
  Pads2d pads;
  if (!OnnxPads2d(c, p.in_h, p.in_w, p.dilation_h * (p.kernel_h - 1) + 1, p.dilation_w * (p.kernel_w - 1) + 1,
                  p.stride_h, p.stride_w, &pads, &g.why))
    return g;
  p.pad_top = pads.top, p.pad_left = pads.left, p.pad_bottom = pads.bottom, p.pad_right = pads.right;
  return g;
}

// Runs conv2d_s8 in `mode` and returns the output in NCHW, + out_offset.
std::string RunConvS8(const Case& c, const qk::Conv2dS8Params& params, const std::vector<std::int8_t>& xs,
                      const std::vector<std::int8_t>& ws, const std::int32_t* bias, std::int64_t out_offset,
                      std::vector<std::int64_t>* got) {
  const auto prepared = qk::PrepareConv2dS8(params, ws.data(), bias);
  if (!prepared.ok()) return c.name + ": PrepareConv2dS8 rejects it: " + prepared.status().ToString();
  const auto& p = params.shape;
  std::vector<std::int8_t> y(static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c);
  qk::ref::conv2d_s8(*prepared, xs.data(), ws.data(), bias, y.data());
  const auto nchw = NhwcToNchw(y, p.batch, p.out_c, p.out_h(), p.out_w());
  got->resize(nchw.size());
  for (std::size_t i = 0; i < nchw.size(); ++i) (*got)[i] = nchw[i] + out_offset;
  return "";
}

bool FitsInt8(const Tensor& t) {
  return std::all_of(t.ints.begin(), t.ints.end(), [](std::int64_t v) { return v >= -128 && v <= 127; });
}

constexpr qk::RequantMode kAllModes[] = {qk::RequantMode::kGemmlowp, qk::RequantMode::kSingle, qk::RequantMode::kFloat};

Outcome RunConvInteger(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* w = c.Input(1);
  const Tensor* x_zp = c.Input(2);
  const Tensor* w_zp = c.Input(3);
  const Tensor* want = c.Output(0);
  if (!IsInt8Like(x) || !IsInt8Like(w) || !want) return Decline("x / w not 8-bit");
  if (auto why = WeightsDecline(*w, w_zp, "w_zero_point"); !why.empty()) return Decline(why);
  if (!FitsInt8(*want)) return Decline("accumulators outside [-128, 127]: the int8 API has no int32 output");
  ConvGeometry g = ConvShape(c, *x, *w);
  if (!g.why.empty()) return Decline(g.why);
  Outcome o;
  o.ran = true;
  const auto xs = NchwToNhwc(ToS8(*x), g.p.batch, g.p.in_c, g.p.in_h, g.p.in_w);
  const auto ws = NchwToNhwc(WeightsS8(w->ints), g.p.out_c, g.p.in_c / g.p.groups, g.p.kernel_h, g.p.kernel_w);
  for (const auto mode : kAllModes) {
    qk::Conv2dS8Params params;
    params.shape = g.p;
    params.input = {1.0f, ZeroPointS8(x_zp, 0, *x)};
    params.weight_scales = {1.0f};
    params.output.params = {1.0f, 0};
    params.output.mode = mode;
    std::vector<std::int64_t> got;
    if (auto err = RunConvS8(c, params, xs, ws, nullptr, 0, &got); !err.empty()) {
      o.Check(err);
      continue;
    }
    o.Check(CompareExact(What(c, "y", std::string("ref conv2d_s8 identity requant ") + qk::RequantModeName(mode)), got,
                         *want));
  }
  return o;
}

// The asymmetric-weight quantization of a QLinear op (qlinear_quant.h), kFloat as
// ONNX specifies. Weight scales and zero points are per tensor or per output
// channel (1-D); the zero points are shifted with the weights' offset.
qk::QLinearQuant QLinearQuantFor(const Tensor& x, const Tensor& x_scale, const Tensor* x_zp, const Tensor& w,
                                 const Tensor& w_scale, const Tensor* w_zp, const Tensor& y_scale,
                                 const Tensor* y_zp, const Tensor& y) {
  qk::QLinearQuant q;
  q.input = {x_scale.f.at(0), ZeroPointS8(x_zp, 0, x)};
  q.weight_scales = w_scale.f;
  const std::size_t nzp = w_zp ? w_zp->ints.size() : 1;
  for (std::size_t i = 0; i < nzp; ++i) q.weight_zero_points.push_back(ZeroPointS8(w_zp, i, w));
  q.output.params = {y_scale.f.at(0), ZeroPointS8(y_zp, 0, y)};
  q.output.mode = qk::RequantMode::kFloat;
  return q;
}

// Per-tensor activation scales and zero points only (ONNX allows no other for x / y).
std::string PerTensorDecline(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->size() != 1) return t->name + " is not per tensor: " + t->ShapeString();
  return "";
}

Outcome RunQLinearConv(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* x_scale = c.Input(1);
  const Tensor* x_zp = c.Input(2);
  const Tensor* w = c.Input(3);
  const Tensor* w_scale = c.Input(4);
  const Tensor* w_zp = c.Input(5);
  const Tensor* y_scale = c.Input(6);
  const Tensor* y_zp = c.Input(7);
  const Tensor* bias = c.Input(8);
  const Tensor* want = c.Output(0);
  if (!IsInt8Like(x) || !IsInt8Like(w) || !x_scale || !w_scale || !y_scale || !IsInt8Like(want))
    return Decline("inputs");
  if (auto why = PerTensorDecline({x_scale, x_zp, y_scale, y_zp}); !why.empty()) return Decline(why);
  ConvGeometry g = ConvShape(c, *x, *w);
  if (!g.why.empty()) return Decline(g.why);
  Outcome o;
  o.ran = true;
  qk::QLinearConvS8Params params;
  params.shape = g.p;
  params.quant = QLinearQuantFor(*x, *x_scale, x_zp, *w, *w_scale, w_zp, *y_scale, y_zp, *want);
  const auto xs = NchwToNhwc(ToS8(*x), g.p.batch, g.p.in_c, g.p.in_h, g.p.in_w);
  const auto ws = NchwToNhwc(ToS8(*w), g.p.out_c, g.p.in_c / g.p.groups, g.p.kernel_h, g.p.kernel_w);
  std::vector<std::int32_t> b32;
  if (bias) b32.assign(bias->ints.begin(), bias->ints.end());
  const std::int32_t* bias_ptr = bias ? b32.data() : nullptr;
  const auto prepared = qk::PrepareQLinearConvS8(params, ws.data(), bias_ptr);
  if (!prepared.ok()) {
    o.Check(c.name + ": PrepareQLinearConvS8 rejects it: " + prepared.status().ToString());
    return o;
  }
  const auto& p = params.shape;
  const std::vector<std::int64_t> out_dims{p.batch, p.out_c, p.out_h(), p.out_w()};
  if (want->dims != out_dims) {
    o.Check(c.name + ": qualm's output shape differs from ONNX's " + want->ShapeString());
    return o;
  }
  std::vector<std::int8_t> y(static_cast<std::size_t>(want->size()));
  qk::ref::qlinear_conv_s8(*prepared, xs.data(), ws.data(), bias_ptr, y.data());
  const auto nchw = NhwcToNchw(y, p.batch, p.out_c, p.out_h(), p.out_w());
  std::vector<std::int64_t> got(nchw.size());
  for (std::size_t i = 0; i < got.size(); ++i) got[i] = nchw[i] + Offset(*want);
  o.Check(CompareExact(What(c, "y", "ref qlinear_conv_s8 fp32"), got, *want));
  return o;
}

// ---------------------------------------------------------------------------
// MatMuls: MatMulInteger (identity requant) via dense_s8 per batch matrix
// (x = A[b] [M][K], w = B[b]^T [N][K]), and QLinearMatMul (kFloat) via
// qlinear_matmul_s8, which reads ONNX's B [K][N] as it is (and a 2-D B shared
// by every batch matrix of A, ONNX's broadcast).
struct MatMulShape {
  std::int64_t batches = 1, M = 0, K = 0, N = 0;
  bool shared_b = false;  // a 2-D B broadcast over A's batch dims (only when allowed)
  std::string why;
};
MatMulShape MatMulDims(const Tensor& a, const Tensor& b, bool allow_shared_b) {
  MatMulShape s;
  const std::size_t r = a.dims.size();
  s.shared_b = allow_shared_b && r > 2 && b.dims.size() == 2;
  if (r < 2 || (b.dims.size() != r && !s.shared_b)) {
    s.why = "ranks differ or < 2 (broadcast)";
    return s;
  }
  for (std::size_t i = 0; i + 2 < r; ++i) {
    if (!s.shared_b && a.dims[i] != b.dims[i]) s.why = "batch dims differ (broadcast)";
    s.batches *= a.dims[i];
  }
  const std::size_t rb = b.dims.size();
  s.M = a.dims[r - 2], s.K = a.dims[r - 1], s.N = b.dims[rb - 1];
  if (b.dims[rb - 2] != s.K) s.why = "inner dims differ";
  return s;
}

std::string RunDenseS8(const Case& c, const MatMulShape& s, qk::DenseS8Params params, const Tensor& a,
                       const Tensor& b, std::int64_t out_offset, std::vector<std::int64_t>* got) {
  params.shape = {static_cast<int>(s.M), static_cast<int>(s.K), static_cast<int>(s.N)};
  const auto as = ToS8(a);
  got->assign(static_cast<std::size_t>(s.batches * s.M * s.N), 0);
  for (std::int64_t bi = 0; bi < s.batches; ++bi) {
    const std::vector<std::int64_t> bm(b.ints.begin() + bi * s.K * s.N, b.ints.begin() + (bi + 1) * s.K * s.N);
    const auto ws = WeightsS8(Transpose2d(bm, s.K, s.N));
    const auto prepared = qk::PrepareDenseS8(params, ws.data(), nullptr);
    if (!prepared.ok()) return c.name + ": PrepareDenseS8 rejects it: " + prepared.status().ToString();
    std::vector<std::int8_t> y(static_cast<std::size_t>(s.M * s.N));
    qk::ref::dense_s8(*prepared, as.data() + bi * s.M * s.K, ws.data(), nullptr, y.data());
    for (std::size_t i = 0; i < y.size(); ++i) (*got)[static_cast<std::size_t>(bi * s.M * s.N) + i] = y[i] + out_offset;
  }
  return "";
}

Outcome RunMatMulInteger(const Case& c) {
  const Tensor* a = c.Input(0);
  const Tensor* b = c.Input(1);
  const Tensor* a_zp = c.Input(2);
  const Tensor* b_zp = c.Input(3);
  const Tensor* want = c.Output(0);
  if (!IsInt8Like(a) || !IsInt8Like(b) || !want) return Decline("A / B not 8-bit");
  if (a_zp && a_zp->ints.size() != 1) return Decline("per-row a_zero_point");
  if (auto why = WeightsDecline(*b, b_zp, "b_zero_point"); !why.empty()) return Decline(why);
  if (!FitsInt8(*want)) return Decline("accumulators outside [-128, 127]: the int8 API has no int32 output");
  const MatMulShape s = MatMulDims(*a, *b, false);
  if (!s.why.empty()) return Decline(s.why);
  Outcome o;
  o.ran = true;
  for (const auto mode : kAllModes) {
    qk::DenseS8Params params;
    params.input = {1.0f, ZeroPointS8(a_zp, 0, *a)};
    params.weight_scales = {1.0f};
    params.output.params = {1.0f, 0};
    params.output.mode = mode;
    std::vector<std::int64_t> got;
    if (auto err = RunDenseS8(c, s, params, *a, *b, 0, &got); !err.empty()) {
      o.Check(err);
      continue;
    }
    o.Check(CompareExact(What(c, "Y", std::string("ref dense_s8 identity requant ") + qk::RequantModeName(mode)), got,
                         *want));
  }
  return o;
}

Outcome RunQLinearMatMul(const Case& c) {
  const Tensor* a = c.Input(0);
  const Tensor* a_scale = c.Input(1);
  const Tensor* a_zp = c.Input(2);
  const Tensor* b = c.Input(3);
  const Tensor* b_scale = c.Input(4);
  const Tensor* b_zp = c.Input(5);
  const Tensor* y_scale = c.Input(6);
  const Tensor* y_zp = c.Input(7);
  const Tensor* want = c.Output(0);
  if (!IsInt8Like(a) || !IsInt8Like(b) || !a_scale || !b_scale || !y_scale || !IsInt8Like(want))
    return Decline("inputs");
  // ONNX allows per-row A quantization; qualm's activations are per tensor.
  if (auto why = PerTensorDecline({a_scale, a_zp, y_scale, y_zp}); !why.empty()) return Decline(why);
  const MatMulShape s = MatMulDims(*a, *b, true);
  if (!s.why.empty()) return Decline(s.why);
  Outcome o;
  o.ran = true;
  qk::QLinearMatMulS8Params params;
  params.shape = {static_cast<int>(s.batches), static_cast<int>(s.M), static_cast<int>(s.K), static_cast<int>(s.N),
                  s.shared_b};
  params.quant = QLinearQuantFor(*a, *a_scale, a_zp, *b, *b_scale, b_zp, *y_scale, y_zp, *want);
  const auto as = ToS8(*a);
  const auto bs = ToS8(*b);  // ONNX's [k][n] is the kernel's layout: no transpose
  const auto prepared = qk::PrepareQLinearMatMulS8(params, bs.data(), nullptr);
  if (!prepared.ok()) {
    o.Check(c.name + ": PrepareQLinearMatMulS8 rejects it: " + prepared.status().ToString());
    return o;
  }
  if (want->size() != s.batches * s.M * s.N) {
    o.Check(c.name + ": qualm's output size differs from ONNX's " + want->ShapeString());
    return o;
  }
  std::vector<std::int8_t> y(static_cast<std::size_t>(want->size()));
  qk::ref::qlinear_matmul_s8(*prepared, as.data(), bs.data(), nullptr, y.data());
  std::vector<std::int64_t> got(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) got[i] = y[i] + Offset(*want);
  o.Check(CompareExact(What(c, "y", "ref qlinear_matmul_s8 fp32"), got, *want));
  return o;
}

// ---------------------------------------------------------------------------
// 8-bit MaxPool through max_pool2d_s8 (2-D, explicit or auto pads; no ceil_mode,
// no dilations, no Indices output).
Outcome RunMaxPoolS8(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* want = c.Output(0);
  if (!IsInt8Like(x) || !want) return Decline("not 8-bit data");
  if (x->dims.size() != 4) return Decline("not 2-D pooling");
  if (c.Output(1)) return Decline("Indices output");
  if (c.Int("ceil_mode", 0) != 0) return Decline("ceil_mode");
  for (auto d : c.Ints("dilations", {}))
    if (d != 1) return Decline("dilations");
  const auto k = c.Ints("kernel_shape", {});
  const auto st = c.Ints("strides", {1, 1});
  qk::Pool2dParams p;
  p.batch = static_cast<int>(x->dim(0)), p.channels = static_cast<int>(x->dim(1));
  p.in_h = static_cast<int>(x->dim(2)), p.in_w = static_cast<int>(x->dim(3));
  p.kernel_h = static_cast<int>(k.at(0)), p.kernel_w = static_cast<int>(k.at(1));
  p.stride_h = static_cast<int>(st.at(0)), p.stride_w = static_cast<int>(st.at(1));
  Pads2d pads;
  std::string why;
  if (!OnnxPads2d(c, p.in_h, p.in_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, &pads, &why)) return Decline(why);
  p.pad_top = pads.top, p.pad_left = pads.left, p.pad_bottom = pads.bottom, p.pad_right = pads.right;
  Outcome o;
  o.ran = true;
  qk::Pool2dS8Params params;
  params.shape = p;
  params.input = params.output = {1.0f, 0};
  const auto prepared = qk::PrepareMaxPool2dS8(params);
  if (!prepared.ok()) {
    o.Check(c.name + ": PrepareMaxPool2dS8 rejects it: " + prepared.status().ToString());
    return o;
  }
  const std::vector<std::int64_t> out_dims{p.batch, p.channels, p.out_h(), p.out_w()};
  if (want->dims != out_dims) {
    o.Check(c.name + ": qualm's output shape differs from ONNX's " + want->ShapeString());
    return o;
  }
  const auto xs = NchwToNhwc(ToS8(*x), p.batch, p.channels, p.in_h, p.in_w);
  std::vector<std::int8_t> y(static_cast<std::size_t>(want->size()));
  qk::ref::max_pool2d_s8(*prepared, xs.data(), y.data());
  const auto nchw = NhwcToNchw(y, p.batch, p.channels, p.out_h(), p.out_w());
  std::vector<std::int64_t> got(nchw.size());
  for (std::size_t i = 0; i < got.size(); ++i) got[i] = nchw[i] + Offset(*want);
  o.Check(CompareExact(What(c, "y", "ref max_pool2d_s8"), got, *want));
  return o;
}

}  // namespace

TEST_CASE("QuantizeLinear / DequantizeLinear: ONNX node tests - exact") {
  RunFamily({"test_quantizelinear"}, {{"test_quantizelinear", true}, {"test_quantizelinear_axis", true}},
            RunQuantize);
  RunFamily({"test_dequantizelinear"}, {{"test_dequantizelinear", true}, {"test_dequantizelinear_axis", true}},
            RunDequantize);
}

TEST_CASE("ConvInteger / MatMulInteger: ONNX node tests through conv2d_s8 / dense_s8 - exact") {
  RunFamily({"test_convinteger_", "test_basic_convinteger"},
            {{"test_basic_convinteger", true},
             {"test_convinteger_with_padding", true},
             {"test_convinteger_without_padding", true}},
            RunConvInteger);
  RunFamily({"test_matmulinteger"}, {{"test_matmulinteger", true}}, RunMatMulInteger);
}

TEST_CASE("QLinearConv / QLinearMatMul: ONNX node tests through qlinear_conv_s8 / qlinear_matmul_s8 fp32 - exact") {
  // Weight zero points (255 on uint8 weights, 114): the asymmetric-weight family.
  RunFamily({"test_qlinearconv"}, {{"test_qlinearconv", true}}, RunQLinearConv);
  RunFamily({"test_qlinearmatmul_"}, {{"test_qlinearmatmul_2D", true}, {"test_qlinearmatmul_3D", true}},
            RunQLinearMatMul);
}

TEST_CASE("MaxPool (uint8): ONNX node test through max_pool2d_s8 - exact") {
  RunFamily({"test_maxpool_2d_uint8"}, {{"test_maxpool_2d_uint8", true}}, RunMaxPoolS8);
}
