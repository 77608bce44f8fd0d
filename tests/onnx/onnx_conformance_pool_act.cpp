// ONNX node tests for MaxPool, AveragePool, Relu and Softmax through qualm's
// float reference kernels (these ops have no fast path).
//
// Tolerances: max pooling and ReLU select values, so they must match exactly
// (atol = rtol = 0); average pooling and softmax use the shared float tolerance
// (conformance.h: |got - want| <= 1e-5 + 1e-4 |want|).
//
// Mapping: 1-D pooling runs as 2-D with in_h = 1; auto_pad becomes explicit pads;
// ceil_mode = 1 becomes extra padding at the bottom / right, which is exact for
// max pooling (padding never wins) and for average pooling without
// count_include_pad (padding is not counted); the pool's out_h/out_w then equal
// ONNX's ceil formula, and the output shape is checked against ONNX's.
//
// case                                             | runs | reason when not
// -------------------------------------------------+------+-----------------------------------------------
// test_maxpool_1d_default                          | yes  | as 2-D, in_h = 1
// test_maxpool_2d_ceil                             | yes  | ceil_mode as extra end padding
// test_maxpool_2d_default                          | yes  |
// test_maxpool_2d_dilations                        | no   | dilations: qualm's pooling has none
// test_maxpool_2d_pads                             | yes  |
// test_maxpool_2d_precomputed_pads                 | yes  |
// test_maxpool_2d_precomputed_same_upper           | yes  | auto_pad SAME_UPPER
// test_maxpool_2d_precomputed_strides              | yes  |
// test_maxpool_2d_same_lower                       | yes  | auto_pad SAME_LOWER
// test_maxpool_2d_same_upper                       | yes  | auto_pad SAME_UPPER
// test_maxpool_2d_strides                          | yes  |
// test_maxpool_2d_uint8                            | no   | uint8 data: run by the int8 max pool test
//                                                  |      | (onnx_conformance_int8.cpp)
// test_maxpool_3d_default                          | no   | 3-D pooling: qualm pools 2-D only
// test_maxpool_with_argmax_2d_precomputed_pads     | no   | Indices output (argmax): qualm has none
// test_maxpool_with_argmax_2d_precomputed_strides  | no   | Indices output (argmax), storage_order
// test_averagepool_1d_default                      | yes  | as 2-D, in_h = 1
// test_averagepool_2d_ceil                         | yes  | ceil_mode as extra end padding
// test_averagepool_2d_default                      | yes  |
// test_averagepool_2d_pads                         | yes  |
// test_averagepool_2d_pads_count_include_pad       | yes  | count_include_pad = 1
// test_averagepool_2d_precomputed_pads             | yes  |
// test_averagepool_2d_precomputed_pads_count_include_pad | yes |
// test_averagepool_2d_precomputed_same_upper       | yes  |
// test_averagepool_2d_precomputed_strides          | yes  |
// test_averagepool_2d_same_lower                   | yes  |
// test_averagepool_2d_same_upper                   | yes  |
// test_averagepool_2d_strides                      | yes  |
// test_averagepool_3d_default                      | no   | 3-D pooling
// test_relu                                        | yes  | exact
// test_softmax_axis_0                              | no   | opset 13 softmax over axis 0 of 3: qualm's
// test_softmax_axis_1                              | no   |   softmax is over the last axis (rows x cols)
// test_softmax_axis_2                              | yes  | axis 2 of 3 = last
// test_softmax_default_axis                        | yes  | axis -1
// test_softmax_example                             | yes  |
// test_softmax_large_number                        | yes  | inputs ~1e4: max subtraction
// test_softmax_negative_axis                       | yes  | axis -1
// test_softmax_*_expanded (8 cases)                | no   | graphs of several nodes (the function body of
//                                                  |      | Softmax), not a single op
#include <string>
#include <vector>

#include "conformance.h"
#include "qualm/kernels/elementwise.h"
#include "qualm/kernels/pool.h"
#include "qualm/kernels/softmax.h"

namespace qk = qualm::kernels;
using namespace qualm_onnx;

namespace {

enum class PoolKind { kMax, kAvg };

Outcome RunPool(const Case& c, PoolKind kind) {
  const Tensor* x = c.Input(0);
  const Tensor* want = c.Output(0);
  if (!x || !want) return Decline("missing X or Y");
  if (c.Output(1)) return Decline("Indices output (argmax): qualm's max pool has none");
  if (!x->is_float()) return Decline(std::string(ElemTypeName(x->type)) + " data: the int8 pool test runs it");
  const std::size_t spatial = x->dims.size() - 2;
  if (spatial != 1 && spatial != 2) return Decline("not 1-D or 2-D pooling");
  for (auto d : c.Ints("dilations", {})) {
    if (d != 1) return Decline("dilations: qualm's pooling has none");
  }
  const auto kernel = c.Ints("kernel_shape", {});
  const auto strides = c.Ints("strides", std::vector<std::int64_t>(spatial, 1));
  if (kernel.size() != spatial || strides.size() != spatial) return Decline("kernel_shape / strides rank");
  const bool ceil_mode = c.Int("ceil_mode", 0) != 0;
  const bool include_pad = c.Int("count_include_pad", 0) != 0;
  if (ceil_mode && include_pad && kind == PoolKind::kAvg)
    return Decline("ceil_mode with count_include_pad: extra padding would be counted");

  qk::Pool2dParams p;
  p.batch = static_cast<int>(x->dim(0));
  p.channels = static_cast<int>(x->dim(1));
  p.in_h = spatial == 2 ? static_cast<int>(x->dim(2)) : 1;
  p.in_w = static_cast<int>(x->dims.back());
  p.kernel_h = spatial == 2 ? static_cast<int>(kernel[0]) : 1;
  p.kernel_w = static_cast<int>(kernel.back());
  p.stride_h = spatial == 2 ? static_cast<int>(strides[0]) : 1;
  p.stride_w = static_cast<int>(strides.back());
  p.count_include_pad = include_pad;
  if (spatial == 2) {
    Pads2d pads;
    std::string why;
    if (!OnnxPads2d(c, p.in_h, p.in_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, &pads, &why))
      return Decline(why);
    p.pad_top = pads.top, p.pad_left = pads.left, p.pad_bottom = pads.bottom, p.pad_right = pads.right;
  } else {
    if (c.Str("auto_pad", "NOTSET") != "NOTSET") return Decline("1-D auto_pad");
    const auto pads = c.Ints("pads", {0, 0});
    p.pad_left = static_cast<int>(pads.at(0)), p.pad_right = static_cast<int>(pads.at(1));
  }
  if (ceil_mode) {  // ONNX: out = ceil((in + pads - k) / s) + 1
    auto extra = [](int in, int k, int s, int pads) {
      const int span = in + pads - k;
      const int out = (span + s - 1) / s + 1;
      return (out - 1) * s + k - (in + pads);
    };
    p.pad_bottom += extra(p.in_h, p.kernel_h, p.stride_h, p.pad_top + p.pad_bottom);
    p.pad_right += extra(p.in_w, p.kernel_w, p.stride_w, p.pad_left + p.pad_right);
  }

  Outcome o;
  o.ran = true;
  if (const auto st = qk::Validate(p); !st.ok()) {
    o.Check(c.name + ": qualm rejects the shape: " + st.ToString());
    return o;
  }
  std::vector<std::int64_t> out_dims{p.batch, p.channels};
  if (spatial == 2) out_dims.push_back(p.out_h());
  out_dims.push_back(p.out_w());
  if (want->dims != out_dims) {
    o.Check(c.name + ": qualm's output shape differs from ONNX's " + want->ShapeString());
    return o;
  }
  const auto xs = NchwToNhwc(x->f, p.batch, p.channels, p.in_h, p.in_w);
  std::vector<float> y(static_cast<std::size_t>(want->size()));
  if (kind == PoolKind::kMax) {
    qk::ref::max_pool2d_f32(p, xs.data(), y.data());
    o.Check(CompareFloat(What(c, "Y", "ref"), NhwcToNchw(y, p.batch, p.channels, p.out_h(), p.out_w()), *want, 0, 0));
  } else {
    qk::ref::avg_pool2d_f32(p, xs.data(), y.data());
    o.Check(CompareFloat(What(c, "Y", "ref"), NhwcToNchw(y, p.batch, p.channels, p.out_h(), p.out_w()), *want,
                         kAtol, kRtol));
  }
  return o;
}

Outcome RunRelu(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* want = c.Output(0);
  if (!x || !want || !x->is_float()) return Decline("missing or non-float X / Y");
  Outcome o;
  o.ran = true;
  std::vector<float> y(x->f.size());
  qk::ref::relu_f32(y.size(), x->f.data(), y.data());
  o.Check(CompareFloat(What(c, "Y", "ref"), y, *want, 0, 0));
  return o;
}

Outcome RunSoftmax(const Case& c) {
  if (c.node_count != 1) return Decline("a graph of several nodes (expanded function), not a single op");
  const Tensor* x = c.Input(0);
  const Tensor* want = c.Output(0);
  if (!x || !want || !x->is_float()) return Decline("missing or non-float X / Y");
  const auto rank = static_cast<std::int64_t>(x->dims.size());
  std::int64_t axis = c.Int("axis", c.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  std::int64_t cols = 1;
  if (c.opset >= 13) {
    // Softmax along one axis: qualm's rows x cols form covers the last axis only.
    if (axis != rank - 1) return Decline("softmax over a non-last axis (opset 13 semantics)");
    cols = x->dims.back();
  } else {
    // Before opset 13: the input is flattened to [prod(dims < axis)] x [prod(dims >= axis)].
    for (std::int64_t i = axis; i < rank; ++i) cols *= x->dims[static_cast<std::size_t>(i)];
  }
  const std::int64_t rows = x->size() / cols;
  Outcome o;
  o.ran = true;
  std::vector<float> y(x->f.size());
  qk::ref::softmax_f32(static_cast<int>(rows), static_cast<int>(cols), x->f.data(), y.data());
  o.Check(CompareFloat(What(c, "Y", "ref"), y, *want, kAtol, kRtol));
  return o;
}

}  // namespace

TEST_CASE("MaxPool (float): ONNX node tests - ref") {
  RunFamily({"test_maxpool_"},
            {{"test_maxpool_1d_default", true},
             {"test_maxpool_2d_ceil", true},
             {"test_maxpool_2d_default", true},
             {"test_maxpool_2d_dilations", false},
             {"test_maxpool_2d_pads", true},
             {"test_maxpool_2d_precomputed_pads", true},
             {"test_maxpool_2d_precomputed_same_upper", true},
             {"test_maxpool_2d_precomputed_strides", true},
             {"test_maxpool_2d_same_lower", true},
             {"test_maxpool_2d_same_upper", true},
             {"test_maxpool_2d_strides", true},
             {"test_maxpool_2d_uint8", false},
             {"test_maxpool_3d_default", false},
             {"test_maxpool_with_argmax_2d_precomputed_pads", false},
             {"test_maxpool_with_argmax_2d_precomputed_strides", false}},
            [](const Case& c) { return RunPool(c, PoolKind::kMax); });
}

TEST_CASE("AveragePool (float): ONNX node tests - ref") {
  RunFamily({"test_averagepool_"},
            {{"test_averagepool_1d_default", true},
             {"test_averagepool_2d_ceil", true},
             {"test_averagepool_2d_default", true},
             {"test_averagepool_2d_pads", true},
             {"test_averagepool_2d_pads_count_include_pad", true},
             {"test_averagepool_2d_precomputed_pads", true},
             {"test_averagepool_2d_precomputed_pads_count_include_pad", true},
             {"test_averagepool_2d_precomputed_same_upper", true},
             {"test_averagepool_2d_precomputed_strides", true},
             {"test_averagepool_2d_same_lower", true},
             {"test_averagepool_2d_same_upper", true},
             {"test_averagepool_2d_strides", true},
             {"test_averagepool_3d_default", false}},
            [](const Case& c) { return RunPool(c, PoolKind::kAvg); });
}

TEST_CASE("Relu (float): ONNX node test - ref - exact") {
  RunFamily({"test_relu"}, {{"test_relu", true}}, RunRelu);
}

TEST_CASE("Softmax (float): ONNX node tests - ref") {
  RunFamily({"test_softmax_"},
            {{"test_softmax_axis_0", false},
             {"test_softmax_axis_0_expanded", false},
             {"test_softmax_axis_1", false},
             {"test_softmax_axis_1_expanded", false},
             {"test_softmax_axis_2", true},
             {"test_softmax_axis_2_expanded", false},
             {"test_softmax_default_axis", true},
             {"test_softmax_default_axis_expanded", false},
             {"test_softmax_example", true},
             {"test_softmax_example_expanded", false},
             {"test_softmax_large_number", true},
             {"test_softmax_large_number_expanded", false},
             {"test_softmax_negative_axis", true},
             {"test_softmax_negative_axis_expanded", false}},
            RunSoftmax);
}
