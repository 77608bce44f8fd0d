// tests/onnx/onnx_io_import_test.cpp: ONNX models written by the tests with
// the protobuf API, imported, and checked against the naive NCHW interpreter
// (an independent evaluation of the same graph); declined ops and attributes.
#include <doctest/doctest.h>

#include "onnx_io_graph.h"
#include "onnx_io_test_util.h"
#include "qualm/frontends/onnx.h"

using namespace qualm_onnx_io;
namespace fe = qualm::frontends;

namespace {

// What PyTorch's exporter writes for a small CNN: Conv, Relu, MaxPool,
// Flatten, Gemm (transB=1), a final Softmax; odd spatial sizes (13 x 11).
GraphBuilder TorchLikeCnn(std::mt19937& rng) {
  GraphBuilder g(13);
  g.Input("input.1", -1, {1, 13, 11});
  g.Random("conv1.weight", {4, 1, 3, 3}, 0.5f, rng);
  g.Random("conv1.bias", {4}, 0.1f, rng);
  g.Random("conv2.weight", {6, 4, 3, 3}, 0.3f, rng);
  g.Random("conv2.bias", {6}, 0.1f, rng);
  g.Random("fc1.weight", {5, 72}, 0.2f, rng);
  g.Random("fc1.bias", {5}, 0.1f, rng);
  g.Random("fc2.weight", {7, 5}, 0.5f, rng);
  g.Random("fc2.bias", {7}, 0.1f, rng);
  g.Node("Conv", "/conv1/Conv", {"input.1", "conv1.weight", "conv1.bias"}, {"/conv1/Conv_output_0"},
         {Attr::Ints("dilations", {1, 1}), Attr::Int("group", 1), Attr::Ints("kernel_shape", {3, 3}),
          Attr::Ints("pads", {1, 1, 1, 1}), Attr::Ints("strides", {1, 1})});
  g.Node("Relu", "/Relu", {"/conv1/Conv_output_0"}, {"/Relu_output_0"});
  g.Node("MaxPool", "/pool/MaxPool", {"/Relu_output_0"}, {"/pool/MaxPool_output_0"},
         {Attr::Int("ceil_mode", 0), Attr::Ints("kernel_shape", {2, 2}), Attr::Ints("pads", {0, 0, 0, 0}),
          Attr::Ints("strides", {2, 2})});
  g.Node("Conv", "/conv2/Conv", {"/pool/MaxPool_output_0", "conv2.weight", "conv2.bias"}, {"/conv2/Conv_output_0"},
         {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("strides", {1, 1})});
  g.Node("Relu", "/Relu_1", {"/conv2/Conv_output_0"}, {"/Relu_1_output_0"});
  g.Node("Flatten", "/Flatten", {"/Relu_1_output_0"}, {"/Flatten_output_0"}, {Attr::Int("axis", 1)});
  g.Node("Gemm", "/fc1/Gemm", {"/Flatten_output_0", "fc1.weight", "fc1.bias"}, {"/fc1/Gemm_output_0"},
         {Attr::Float("alpha", 1.0f), Attr::Float("beta", 1.0f), Attr::Int("transB", 1)});
  g.Node("Relu", "/Relu_2", {"/fc1/Gemm_output_0"}, {"/Relu_2_output_0"});
  g.Node("Gemm", "/fc2/Gemm", {"/Relu_2_output_0", "fc2.weight", "fc2.bias"}, {"/fc2/Gemm_output_0"},
         {Attr::Int("transB", 1)});
  g.Node("Softmax", "/Softmax", {"/fc2/Gemm_output_0"}, {"probs"}, {Attr::Int("axis", 1)});
  g.Output("probs", 7);
  return g;
}

std::vector<double> SoftmaxRows(const std::vector<float>& logits, int classes) {
  std::vector<double> out(logits.size());
  for (std::size_t r = 0; r < logits.size(); r += static_cast<std::size_t>(classes)) {
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < classes; ++j) mx = std::max(mx, static_cast<double>(logits[r + static_cast<std::size_t>(j)]));
    for (int j = 0; j < classes; ++j) s += std::exp(logits[r + static_cast<std::size_t>(j)] - mx);
    for (int j = 0; j < classes; ++j) out[r + static_cast<std::size_t>(j)] = std::exp(logits[r + static_cast<std::size_t>(j)] - mx) / s;
  }
  return out;
}

}  // namespace

TEST_CASE("onnx import: PyTorch-shaped CNN (Conv, Relu, MaxPool, Flatten, Gemm transB, Softmax) matches a naive NCHW run") {
  std::mt19937 rng(11);
  GraphBuilder g = TorchLikeCnn(rng);
  WriteFuzzSeed("torch-cnn", g.Bytes());
  auto m = fe::ImportOnnxBytes(g.Bytes(), "torch.onnx");
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK(m->input_shape == std::vector<std::int64_t>{13, 11, 1});
  CHECK(m->num_classes == 7);
  CHECK(m->nodes.size() == 9);  // input, conv, relu, pool, conv, relu, gemm, relu, gemm
  const int n = 5;
  const auto x = RandomImages(n * 13 * 11, rng);
  const NTensor want = NaiveRun(g.proto(), Nchw(x, {n, 1, 13, 11}));
  for (auto backend : {qualm::Backend::kReference, qualm::Backend::kFast}) {
    const auto logits = QualmLogits(*m, NchwToNhwc(x, n, 1, 13, 11), n, backend);
    REQUIRE(logits.size() == static_cast<std::size_t>(n * 7));
    const auto probs = SoftmaxRows(logits, 7);
    double worst = 0;
    for (std::size_t i = 0; i < probs.size(); ++i) worst = std::max(worst, std::fabs(probs[i] - want.v[i]));
    INFO("backend " << qualm::BackendName(backend) << ", max |p - p_onnx| " << worst);
    CHECK(worst < 1e-5);
    CHECK(Argmax(probs, 7) == Argmax(want.v, 7));
  }
}

TEST_CASE("onnx import: SAME padding, BN, Clip 0..6, depthwise, average pool with padding, residual Add, GAP, MatMul + Add") {
  std::mt19937 rng(5);
  GraphBuilder g(13);
  g.Input("x", 3, {3, 9, 7});
  g.Random("w1", {5, 3, 3, 3}, 0.4f, rng);
  g.Node("Conv", "c1", {"x", "w1"}, {"c1"}, {Attr::Str("auto_pad", "SAME_UPPER"), Attr::Ints("strides", {2, 2})});
  g.Random("bn_s", {5}, 1.0f, rng);
  g.Random("bn_b", {5}, 0.3f, rng);
  g.Random("bn_m", {5}, 0.2f, rng);
  auto var = g.Random("bn_v_unused", {5}, 0.5f, rng);
  for (auto& v : var) v = std::fabs(v) + 0.25f;
  g.Float("bn_v", {5}, var);
  g.Node("BatchNormalization", "bn", {"c1", "bn_s", "bn_b", "bn_m", "bn_v"}, {"bn"}, {Attr::Float("epsilon", 1e-3f)});
  g.Float("zero", {}, {0.0f});
  g.Float("six", {}, {6.0f});
  g.Node("Clip", "relu6", {"bn", "zero", "six"}, {"r6"});
  g.Random("wd", {5, 1, 3, 3}, 0.5f, rng);
  g.Random("bd", {5}, 0.1f, rng);
  g.Node("Conv", "dw", {"r6", "wd", "bd"}, {"dw"}, {Attr::Int("group", 5), Attr::Ints("pads", {1, 1, 1, 1})});
  g.Node("Relu", "r2", {"dw"}, {"r2"});
  g.Node("Add", "res", {"r2", "r6"}, {"res"});
  g.Node("AveragePool", "ap", {"res"}, {"ap"},
         {Attr::Ints("kernel_shape", {3, 2}), Attr::Ints("strides", {1, 1}), Attr::Ints("pads", {1, 0, 1, 1}),
          Attr::Int("count_include_pad", 1)});
  g.Node("MaxPool", "mp", {"ap"}, {"mp"}, {Attr::Ints("kernel_shape", {2, 2}), Attr::Ints("pads", {0, 1, 1, 0})});
  g.Node("GlobalAveragePool", "gap", {"mp"}, {"gap"});
  g.Int("shape", onnx::TensorProto::INT64, {2}, {-1, 5});
  g.Node("Reshape", "flat", {"gap", "shape"}, {"flat"});
  g.Random("fc", {5, 3}, 0.7f, rng);
  g.Random("fcb", {3}, 0.2f, rng);
  g.Node("MatMul", "mm", {"flat", "fc"}, {"mm"});
  g.Node("Add", "mm_bias", {"mm", "fcb"}, {"logits"});
  g.Output("logits", 3);
  WriteFuzzSeed("same-bn-clip-dw-pool-add-gap-matmul", g.Bytes());
  const int n = 3;
  const auto x = RandomImages(n * 3 * 9 * 7, rng);
  const NTensor want = NaiveRun(g.proto(), Nchw(x, {n, 3, 9, 7}));
  for (bool fold : {false, true}) {
    fe::OnnxImportOptions o;
    o.fold_batch_norm = fold;
    auto m = fe::ImportOnnxBytes(g.Bytes(), "ops.onnx", o);
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    bool has_bn = false;
    for (const auto& node : m->nodes) has_bn = has_bn || std::holds_alternative<qualm::BatchNormOp>(node.op);
    CHECK(has_bn == !fold);
    const auto logits = QualmLogits(*m, NchwToNhwc(x, n, 3, 9, 7), n);
    INFO("fold_batch_norm " << fold << ", max rel diff " << MaxRelDiff(logits, want.v));
    CHECK(MaxRelDiff(logits, want.v) < 1e-5);
  }
}

TEST_CASE("onnx import: input preprocessing (a model trained on raw 0..255 pixels)") {
  std::mt19937 rng(3);
  GraphBuilder g(13);
  g.Input("x", -1, {2, 3, 3});
  g.Random("w", {4, 2, 3, 3}, 0.01f, rng);
  g.Node("Conv", "c", {"x", "w"}, {"c"}, {Attr::Ints("pads", {1, 1, 1, 1})});
  g.Node("Flatten", "f", {"c"}, {"f"});
  g.Random("fc", {3, 36}, 0.2f, rng);
  g.Node("Gemm", "fc", {"f", "fc"}, {"y"}, {Attr::Int("transB", 1)});
  g.Output("y", 3);
  fe::OnnxImportOptions o;
  o.input_scale = 1.0f;  // the ONNX model reads p, qualm's data hold p / 255
  o.input_offset = -0.5f;
  auto m = fe::ImportOnnxBytes(g.Bytes(), "raw.onnx", o);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK(m->nodes[1].name == "onnx.input_preprocess");
  CHECK(m->metadata.at("onnx.input_scale") == std::to_string(1.0f));
  const int n = 4;
  auto pixels = RandomImages(n * 18, rng);  // p / 255, qualm's convention
  std::vector<float> raw(pixels.size());
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = pixels[i] * 255.0f - 0.5f;
  const NTensor want = NaiveRun(g.proto(), Nchw(raw, {n, 2, 3, 3}));
  const auto logits = QualmLogits(*m, NchwToNhwc(pixels, n, 2, 3, 3), n);
  CHECK(MaxRelDiff(logits, want.v) < 1e-4);
}

TEST_CASE("onnx import: unsupported ops and attributes name the node and the op") {
  struct Bad {
    const char* what;
    std::function<void(GraphBuilder&)> build;
    std::vector<std::string> expect;
  };
  std::mt19937 rng(1);
  auto rnn_weights = [&](GraphBuilder& g, std::int64_t gates) {
    g.Random("W", {1, gates * 2, 4}, 0.3f, rng);
    g.Random("R", {1, gates * 2, 2}, 0.3f, rng);
  };
  auto conv_in = [&](GraphBuilder& g) {
    g.Input("x", 1, {2, 6, 6});
    g.Random("w", {3, 2, 3, 3}, 0.3f, rng);
  };
  auto tail = [](GraphBuilder& g, const std::string& from, std::int64_t f) {
    g.Node("Flatten", "flat", {from}, {"flat"});
    g.Float("fw", {2, f}, std::vector<float>(static_cast<std::size_t>(2 * f), 0.1f));
    g.Node("Gemm", "fc", {"flat", "fw"}, {"y"}, {Attr::Int("transB", 1)});
    g.Output("y", 2);
  };
  std::vector<Bad> cases = {
      {"Tanh", [&](GraphBuilder& g) { conv_in(g); g.Node("Conv", "c", {"x", "w"}, {"c"}); g.Node("Tanh", "my_tanh", {"c"}, {"t"}); tail(g, "t", 48); },
       {"my_tanh", "Tanh", "not supported"}},
      {"ceil_mode", [&](GraphBuilder& g) { conv_in(g); g.Node("MaxPool", "pool_x", {"x"}, {"p"}, {Attr::Ints("kernel_shape", {2, 2}), Attr::Int("ceil_mode", 1)}); tail(g, "p", 50); },
       {"pool_x", "MaxPool", "ceil_mode"}},
      {"unknown attribute", [&](GraphBuilder& g) { conv_in(g); g.Node("Conv", "conv_y", {"x", "w"}, {"c"}, {Attr::Int("frobnicate", 2)}); tail(g, "c", 48); },
       {"conv_y", "Conv", "frobnicate"}},
      {"Clip(-1, 1)", [&](GraphBuilder& g) { conv_in(g); g.Float("lo", {}, {-1.0f}); g.Float("hi", {}, {1.0f}); g.Node("Clip", "clip_z", {"x", "lo", "hi"}, {"c"}); tail(g, "c", 72); },
       {"clip_z", "Clip"}},
      {"Gemm transA", [&](GraphBuilder& g) { g.Input("x", 1, {4}); g.Float("fw", {4, 2}, std::vector<float>(8, 0.1f)); g.Node("Gemm", "gemm_t", {"x", "fw"}, {"y"}, {Attr::Int("transA", 1)}); g.Output("y", 2); },
       {"gemm_t", "Gemm", "transA"}},
      {"LSTM layout 0", [&](GraphBuilder& g) { g.Input("x", 1, {5, 4}); rnn_weights(g, 4); g.Node("LSTM", "lstm_a", {"x", "W", "R"}, {"", "y"}, {Attr::Int("hidden_size", 2)}); g.Output("y", 2); },
       {"lstm_a", "LSTM", "layout=1"}},
      {"GRU reset before", [&](GraphBuilder& g) { g.Input("x", 1, {5, 4}); rnn_weights(g, 3); g.Node("GRU", "gru_b", {"x", "W", "R"}, {"", "y"}, {Attr::Int("hidden_size", 2), Attr::Int("layout", 1)}); g.Output("y", 2); },
       {"gru_b", "GRU", "linear_before_reset"}},
      {"broadcast Add", [&](GraphBuilder& g) { conv_in(g); g.Float("k", {1}, {0.5f}); g.Node("Add", "add_k", {"x", "k"}, {"a"}); tail(g, "a", 72); },
       {"add_k", "Add"}},
      {"Gemm on an image", [&](GraphBuilder& g) { conv_in(g); g.Float("fw", {2, 72}, std::vector<float>(144, 0.1f)); g.Node("Gemm", "gemm_img", {"x", "fw"}, {"y"}, {Attr::Int("transB", 1)}); g.Output("y", 2); },
       {"gemm_img", "Gemm", "Flatten"}},
  };
  for (const auto& c : cases) {
    GraphBuilder g(13);
    c.build(g);
    auto m = fe::ImportOnnxBytes(g.Bytes(), "bad.onnx");
    INFO(c.what);
    REQUIRE_FALSE(m.ok());
    INFO(m.status().message());
    CHECK(m.status().message().rfind("bad.onnx: ", 0) == 0);
    for (const auto& e : c.expect) CHECK(m.status().message().find(e) != std::string::npos);
  }
  auto garbage = fe::ImportOnnxBytes(std::string("\x08\x07\xff\xff garbage", 12), "junk.onnx");
  CHECK_FALSE(garbage.ok());
  auto missing = fe::ImportOnnx("/nonexistent/model.onnx");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("/nonexistent/model.onnx") != std::string::npos);
}

TEST_CASE("onnx import: LSTM and GRU (layout 1, both biases) on float sequences match a naive run") {
  for (const char* op : {"LSTM", "GRU"}) {
    INFO(std::string(op));
    std::mt19937 rng(29);
    const std::int64_t T = 6, I = 5, H = 7, G = std::string(op) == "LSTM" ? 4 : 3;
    GraphBuilder g(14);
    g.Input("seq", -1, {T, I});
    g.Random("W", {1, G * H, I}, 0.6f, rng);
    g.Random("R", {1, G * H, H}, 0.6f, rng);
    g.Random("B", {1, 2 * G * H}, 0.4f, rng);
    std::vector<Attr> attrs = {Attr::Int("hidden_size", H), Attr::Int("layout", 1)};
    if (G == 3) attrs.push_back(Attr::Int("linear_before_reset", 1));
    g.Node(op, "rnn", {"seq", "W", "R", "B"}, {"", "h"}, attrs);
    g.Node("Flatten", "flat", {"h"}, {"flat"});
    g.Random("fc", {4, H}, 0.5f, rng);
    g.Node("Gemm", "fc", {"flat", "fc"}, {"y"}, {Attr::Int("transB", 1)});
    g.Output("y", 4);
    WriteFuzzSeed(std::string("rnn-") + op, g.Bytes());
    auto m = fe::ImportOnnxBytes(g.Bytes(), "rnn.onnx");
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    CHECK(m->input_shape == std::vector<std::int64_t>{T, I});
    const int n = 3;
    std::vector<float> x(static_cast<std::size_t>(n * T * I));
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (auto& v : x) v = u(rng);
    const NTensor want = NaiveRun(g.proto(), Nchw(x, {n, T, I}));
    const auto logits = QualmLogits(*m, x, n);
    INFO("max rel diff " << MaxRelDiff(logits, want.v));
    CHECK(MaxRelDiff(logits, want.v) < 1e-5);
  }
}
