// ONNX node tests for Conv, Gemm and MatMul through qualm's float conv2d and
// dense kernels, reference and every fast path (gemm variant x threads 1, 2).
//
// The harness converts layouts (NCHW/OIHW -> NHWC/OHWI and back), transposes
// Gemm's A / B as the attributes say, and applies Gemm's alpha, beta and C in
// float when they are not the plain bias that dense takes (alpha = beta = 1 and C
// a row vector [N] or [1, N]: passed as dense's bias). MatMul with batch dims runs
// dense once per batch matrix (equal batch dims only).
//
// case                                         | runs | note
// ---------------------------------------------+------+---------------------------------------------
// test_basic_conv_with_padding                 | yes  |
// test_basic_conv_without_padding              | yes  |
// test_conv_with_autopad_same                  | yes  | auto_pad SAME_LOWER -> explicit pads
// test_conv_with_strides_and_asymmetric_padding| yes  |
// test_conv_with_strides_no_padding            | yes  |
// test_conv_with_strides_padding               | yes  |
// test_gemm_all_attributes                     | yes  | transA, transB, alpha, beta, C [1, N] in harness
// test_gemm_alpha                              | yes  | alpha in harness
// test_gemm_beta                               | yes  | beta * C in harness
// test_gemm_default_matrix_bias                | yes  | C [M, N] added in harness
// test_gemm_default_no_bias                    | yes  |
// test_gemm_default_scalar_bias                | yes  | C scalar broadcast in harness
// test_gemm_default_single_elem_vector_bias    | yes  | C [1] broadcast in harness
// test_gemm_default_vector_bias                | yes  | C [1, N] -> dense bias
// test_gemm_default_zero_bias                  | yes  | C [1, N] -> dense bias
// test_gemm_transposeA                         | yes  | A^T by the harness
// test_gemm_transposeB                         | yes  | B used as dense's [N][K] weights directly
// test_matmul_2d                               | yes  |
// test_matmul_3d                               | yes  | dense per batch matrix
// test_matmul_4d                               | yes  | dense per batch matrix
// (test_convtranspose*, test_convinteger*, test_conv with dilations or groups: not
//  in this data set / not this family; the integer ones are in onnx_conformance_int8.cpp.)
#include <string>
#include <vector>

#include "conformance.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/dense.h"

namespace qk = qualm::kernels;
using namespace qualm_onnx;

namespace {

Outcome RunConv(const Case& c) {
  const Tensor* x = c.Input(0);
  const Tensor* w = c.Input(1);
  const Tensor* b = c.Input(2);
  const Tensor* want = c.Output(0);
  if (!x || !w || !want) return Decline("missing X, W or Y");
  if (x->dims.size() != 4 || w->dims.size() != 4) return Decline("not a 2-D convolution");
  if (!x->is_float() || !w->is_float() || !want->is_float()) return Decline("not float");
  const auto strides = c.Ints("strides", {1, 1});
  const auto dilations = c.Ints("dilations", {1, 1});
  qk::Conv2dParams p;
  p.batch = static_cast<int>(x->dim(0));
  p.in_c = static_cast<int>(x->dim(1));
  p.in_h = static_cast<int>(x->dim(2));
  p.in_w = static_cast<int>(x->dim(3));
  p.out_c = static_cast<int>(w->dim(0));
  p.kernel_h = static_cast<int>(w->dim(2));
  p.kernel_w = static_cast<int>(w->dim(3));
  p.stride_h = static_cast<int>(strides.at(0));
  p.stride_w = static_cast<int>(strides.at(1));
  p.dilation_h = static_cast<int>(dilations.at(0));
  p.dilation_w = static_cast<int>(dilations.at(1));
  p.groups = static_cast<int>(c.Int("group", 1));
  Pads2d pads;
  std::string why;
  if (!OnnxPads2d(c, p.in_h, p.in_w, p.dilation_h * (p.kernel_h - 1) + 1, p.dilation_w * (p.kernel_w - 1) + 1,
                  p.stride_h, p.stride_w, &pads, &why))
    return Decline(why);
  p.pad_top = pads.top, p.pad_left = pads.left, p.pad_bottom = pads.bottom, p.pad_right = pads.right;

  Outcome o;
  o.ran = true;
  if (const auto st = qk::Validate(p); !st.ok()) {
    o.Check(c.name + ": qualm rejects the shape: " + st.ToString());
    return o;
  }
  const std::vector<std::int64_t> out_dims{p.batch, p.out_c, p.out_h(), p.out_w()};
  if (want->dims != out_dims) {
    o.Check(c.name + ": qualm's output shape differs from ONNX's " + want->ShapeString());
    return o;
  }
  const auto xs = NchwToNhwc(x->f, p.batch, p.in_c, p.in_h, p.in_w);
  const auto ws = NchwToNhwc(w->f, p.out_c, p.in_c / p.groups, p.kernel_h, p.kernel_w);  // OIHW -> OHWI
  const float* bias = b ? b->f.data() : nullptr;
  std::vector<float> y(static_cast<std::size_t>(want->size()));
  auto check = [&](const std::string& path) {
    o.Check(CompareFloat(What(c, "Y", path), NhwcToNchw(y, p.batch, p.out_c, p.out_h(), p.out_w()), *want, kAtol,
                         kRtol));
  };
  qk::ref::conv2d_f32(p, xs.data(), ws.data(), bias, y.data());
  check("ref");
  ForEachFastPath([&](int threads, const std::string& label) {
    Scratch scratch(qk::fast::conv2d_scratch_floats(p, threads));
    std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
    qk::fast::conv2d_f32(scratch.Context(threads), p, xs.data(), ws.data(), bias, y.data());
    check(label);
  });
  return o;
}

// y [M][N] = x [M][K] w[N][K]^T (+ bias [N]) on every path; `finish` maps the
// dense result to the ONNX output (alpha, beta * C) before comparing.
void RunDensePaths(const Case& c, Outcome& o, const qk::DenseParams& p, const std::vector<float>& x,
                   const std::vector<float>& w, const float* bias, const std::function<void(std::vector<float>&)>& finish,
                   const std::function<std::string(const std::vector<float>&, const std::string&)>& compare) {
  std::vector<float> y(static_cast<std::size_t>(p.batch) * p.out_features);
  qk::ref::dense_f32(p, x.data(), w.data(), bias, y.data());
  finish(y);
  o.Check(compare(y, "ref"));
  ForEachFastPath([&](int threads, const std::string& label) {
    Scratch scratch(qk::fast::dense_scratch_floats(p, threads));
    std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
    qk::fast::dense_f32(scratch.Context(threads), p, x.data(), w.data(), bias, y.data());
    finish(y);
    o.Check(compare(y, label));
  });
}

Outcome RunGemm(const Case& c) {
  const Tensor* a = c.Input(0);
  const Tensor* b = c.Input(1);
  const Tensor* cc = c.Input(2);
  const Tensor* want = c.Output(0);
  if (!a || !b || !want) return Decline("missing A, B or Y");
  if (a->dims.size() != 2 || b->dims.size() != 2) return Decline("A or B not 2-D");
  const bool trans_a = c.Int("transA", 0) != 0, trans_b = c.Int("transB", 0) != 0;
  const float alpha = c.Float("alpha", 1.0f), beta = c.Float("beta", 1.0f);
  const std::int64_t M = trans_a ? a->dim(1) : a->dim(0), K = trans_a ? a->dim(0) : a->dim(1);
  const std::int64_t N = trans_b ? b->dim(0) : b->dim(1);
  qk::DenseParams p{static_cast<int>(M), static_cast<int>(K), static_cast<int>(N)};
  const auto x = trans_a ? Transpose2d(a->f, K, M) : a->f;  // [M][K]
  const auto w = trans_b ? b->f : Transpose2d(b->f, K, N);  // [N][K]

  // C as dense's bias only in the plain case; else broadcast in the harness.
  const bool row_vector = cc && cc->size() == N &&
                          (cc->dims == std::vector<std::int64_t>{N} || cc->dims == std::vector<std::int64_t>{1, N});
  const bool as_bias = row_vector && alpha == 1.0f && beta == 1.0f;
  auto c_at = [&](std::int64_t i, std::int64_t j) -> float {
    const auto& d = cc->dims;
    const std::int64_t rows = d.size() == 2 ? d[0] : 1, cols = d.empty() ? 1 : d.back();
    return cc->f[static_cast<std::size_t>((rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j))];
  };
  Outcome o;
  o.ran = true;
  if (const auto st = qk::Validate(p); !st.ok()) {
    o.Check(c.name + ": " + st.ToString());
    return o;
  }
  auto finish = [&](std::vector<float>& y) {
    if (as_bias) return;
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        float& v = y[static_cast<std::size_t>(i * N + j)];
        v = alpha * v + (cc ? beta * c_at(i, j) : 0.0f);
      }
  };
  auto compare = [&](const std::vector<float>& y, const std::string& path) {
    return CompareFloat(What(c, "Y", path), y, *want, kAtol, kRtol);
  };
  RunDensePaths(c, o, p, x, w, as_bias ? cc->f.data() : nullptr, finish, compare);
  return o;
}

Outcome RunMatMul(const Case& c) {
  const Tensor* a = c.Input(0);
  const Tensor* b = c.Input(1);
  const Tensor* want = c.Output(0);
  if (!a || !b || !want) return Decline("missing A, B or Y");
  if (a->dims.size() < 2 || a->dims.size() != b->dims.size()) return Decline("ranks differ or < 2 (broadcast)");
  const std::size_t r = a->dims.size();
  std::int64_t batches = 1;
  for (std::size_t i = 0; i + 2 < r; ++i) {
    if (a->dims[i] != b->dims[i]) return Decline("batch dims differ (broadcast)");
    batches *= a->dims[i];
  }
  const std::int64_t M = a->dims[r - 2], K = a->dims[r - 1], N = b->dims[r - 1];
  if (b->dims[r - 2] != K) return Decline("inner dims differ");
  qk::DenseParams p{static_cast<int>(M), static_cast<int>(K), static_cast<int>(N)};
  Outcome o;
  o.ran = true;
  // Per batch matrix: x = A[bi] [M][K], w = B[bi]^T [N][K]. The comparison runs
  // once, on the whole output, after every batch matrix of that path is done.
  std::vector<float> y_all(static_cast<std::size_t>(batches * M * N));
  std::vector<std::vector<float>> xs, ws;
  for (std::int64_t bi = 0; bi < batches; ++bi) {
    xs.emplace_back(a->f.begin() + bi * M * K, a->f.begin() + (bi + 1) * M * K);
    ws.push_back(Transpose2d(std::vector<float>(b->f.begin() + bi * K * N, b->f.begin() + (bi + 1) * K * N), K, N));
  }
  auto run_path = [&](const std::string& path, const std::function<void(std::int64_t, float*)>& one) {
    std::fill(y_all.begin(), y_all.end(), std::numeric_limits<float>::quiet_NaN());
    for (std::int64_t bi = 0; bi < batches; ++bi) one(bi, y_all.data() + bi * M * N);
    o.Check(CompareFloat(What(c, "Y", path), y_all, *want, kAtol, kRtol));
  };
  run_path("ref", [&](std::int64_t bi, float* y) { qk::ref::dense_f32(p, xs[bi].data(), ws[bi].data(), nullptr, y); });
  ForEachFastPath([&](int threads, const std::string& label) {
    Scratch scratch(qk::fast::dense_scratch_floats(p, threads));
    run_path(label, [&](std::int64_t bi, float* y) {
      qk::fast::dense_f32(scratch.Context(threads), p, xs[bi].data(), ws[bi].data(), nullptr, y);
    });
  });
  return o;
}

}  // namespace

TEST_CASE("Conv (float): ONNX node tests - ref and fast conv2d") {
  RunFamily({"test_conv_", "test_basic_conv_"},
            {{"test_basic_conv_with_padding", true},
             {"test_basic_conv_without_padding", true},
             {"test_conv_with_autopad_same", true},
             {"test_conv_with_strides_and_asymmetric_padding", true},
             {"test_conv_with_strides_no_padding", true},
             {"test_conv_with_strides_padding", true}},
            RunConv);
}

TEST_CASE("Gemm (float): ONNX node tests - ref and fast dense") {
  RunFamily({"test_gemm_"},
            {{"test_gemm_all_attributes", true},
             {"test_gemm_alpha", true},
             {"test_gemm_beta", true},
             {"test_gemm_default_matrix_bias", true},
             {"test_gemm_default_no_bias", true},
             {"test_gemm_default_scalar_bias", true},
             {"test_gemm_default_single_elem_vector_bias", true},
             {"test_gemm_default_vector_bias", true},
             {"test_gemm_default_zero_bias", true},
             {"test_gemm_transposeA", true},
             {"test_gemm_transposeB", true}},
            RunGemm);
}

TEST_CASE("MatMul (float): ONNX node tests - ref and fast dense") {
  RunFamily({"test_matmul_"}, {{"test_matmul_2d", true}, {"test_matmul_3d", true}, {"test_matmul_4d", true}},
            RunMatMul);
}
