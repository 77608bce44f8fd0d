// Full-integer models: lowering (BN folding), PTQ to int8, and the int8
// executor checked layer by layer against float math on the same int8 inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/lower.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/pool.h"

namespace qualm {
namespace {

Model Zoo(const std::string& arch, std::vector<std::int64_t> shape, std::uint64_t seed = 7) {
  ZooOptions o;
  o.input_shape = std::move(shape);
  o.num_classes = IsTextArchitecture(arch) ? 2 : 10;
  o.vocab = 97;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  // Non-trivial batch-norm statistics, so folding has something to fold.
  Rng rng(seed + 1);
  for (auto& n : m->nodes)
    if (std::holds_alternative<BatchNormOp>(n.op))
      for (std::int64_t c = 0; c < n.params[0].value.elements(); ++c) {
        n.params[0].value.f32()[c] = 0.5f + rng.Uniform();          // gamma
        n.params[1].value.f32()[c] = 0.2f * (rng.Uniform() - 0.5f);  // beta
        n.params[2].value.f32()[c] = 0.3f * (rng.Uniform() - 0.5f);  // mean
        n.params[3].value.f32()[c] = 0.5f + rng.Uniform();          // var
      }
  // The default embedding init (+-0.05) leaves a random LSTM's state near 0;
  // widen it so the recurrent layers see trained-like magnitudes.
  for (auto& n : m->nodes)
    if (std::holds_alternative<EmbeddingOp>(n.op))
      for (std::int64_t k = 0; k < n.params[0].value.elements(); ++k) n.params[0].value.f32()[k] *= 20.0f;
  return std::move(m).value();
}

Dataset RandomData(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.sample_type = m.input_type;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  const std::size_t count = static_cast<std::size_t>(n) * d.sample_size();
  if (m.input_type == SampleType::kInt32) {
    const auto vocab = static_cast<std::uint64_t>(std::get<EmbeddingOp>(m.nodes[1].op).vocab);
    for (std::size_t i = 0; i < count; ++i) d.i32.push_back(static_cast<std::int32_t>(rng.Below(vocab)));
  } else {
    for (std::size_t i = 0; i < count; ++i) d.f32.push_back(rng.Uniform());
  }
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(static_cast<std::uint64_t>(d.num_classes))));
  return d;
}

std::vector<float> FloatLogits(Model& m, const Dataset& d) {
  ExecutorOptions eo;
  eo.max_batch = static_cast<int>(d.size());
  eo.backend = Backend::kReference;
  auto ex = Executor::Create(m, eo);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  (*ex)->Forward(d.sample_type == SampleType::kInt32 ? static_cast<const void*>(d.i32.data()) : d.f32.data(),
                 static_cast<int>(d.size()));
  return std::vector<float>((*ex)->logits(), (*ex)->logits() + d.size() * static_cast<std::size_t>(m.num_classes));
}

Model QuantizeInt8(const Model& m, const Dataset& calib) {
  PtqOptions o;
  o.calibration.samples = static_cast<int>(calib.size());
  auto q = QuantizeModel(m, &calib, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q).value();
}

std::vector<float> Dequantize(const Tensor& t, std::int64_t count, const kernels::QuantParams& q) {
  std::vector<float> out(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) out[static_cast<std::size_t>(i)] = q.scale * static_cast<float>(t.data<std::int8_t>()[i] - q.zero_point);
  return out;
}

// The float result of node i on the int8 executor's own (dequantized) inputs,
// with dequantized constants, quantized to the node's output params with
// round-half-away-from-zero: independent of requant.h's fixed-point path.
std::vector<int> LayerOracle(const Model& m, const Int8Executor& ex, int i, int n) {
  const Node& node = m.nodes[static_cast<std::size_t>(i)];
  const NodeQuant& q = m.quant.nodes[static_cast<std::size_t>(i)];
  auto in = [&](int k) {
    const int v = node.inputs[static_cast<std::size_t>(k)];
    return Dequantize(ex.value(v), n * ex.sample_shape(v).elements(), m.quant.nodes[static_cast<std::size_t>(v)].output);
  };
  const Shape& is = ex.sample_shape(node.inputs[0]);
  std::vector<float> y(static_cast<std::size_t>(n * ex.sample_shape(i).elements()));
  auto weights = [&](std::int64_t rows, std::vector<float>& w, std::vector<float>& b) {
    const Tensor& wq = *q.Find("weight");
    const float* s = q.Find("weight_scale")->f32();
    const std::int64_t per = wq.elements() / rows;
    w.resize(static_cast<std::size_t>(wq.elements()));
    for (std::int64_t k = 0; k < wq.elements(); ++k) w[static_cast<std::size_t>(k)] = s[k / per] * wq.data<std::int8_t>()[k];
    b.assign(static_cast<std::size_t>(rows), 0.0f);
    if (const Tensor* bq = q.Find("bias"))
      for (std::int64_t r = 0; r < rows; ++r)
        b[static_cast<std::size_t>(r)] = static_cast<float>(static_cast<double>(bq->data<std::int32_t>()[r]) *
                                                            m.quant.nodes[static_cast<std::size_t>(node.inputs[0])].output.scale * s[r]);
  };
  if (const auto* c = std::get_if<Conv2dOp>(&node.op)) {
    kernels::Conv2dParams p;
    p.batch = n; p.in_h = static_cast<int>(is[0]); p.in_w = static_cast<int>(is[1]); p.in_c = static_cast<int>(is[2]);
    p.out_c = c->out_channels; p.kernel_h = c->kernel_h; p.kernel_w = c->kernel_w; p.stride_h = c->stride_h;
    p.stride_w = c->stride_w; p.pad_top = c->pad_top; p.pad_left = c->pad_left; p.pad_bottom = c->pad_bottom;
    p.pad_right = c->pad_right; p.groups = c->groups;
    std::vector<float> w, b;
    weights(c->out_channels, w, b);
    kernels::ref::conv2d_f32(p, in(0).data(), w.data(), b.data(), y.data());
  } else if (const auto* d = std::get_if<DenseOp>(&node.op)) {
    kernels::DenseParams p{n, static_cast<int>(is.elements()), d->out_features};
    std::vector<float> w, b;
    weights(d->out_features, w, b);
    kernels::ref::dense_f32(p, in(0).data(), w.data(), b.data(), y.data());
  } else if (const auto* mp = std::get_if<MaxPoolOp>(&node.op)) {
    kernels::Pool2dParams p;
    p.batch = n; p.in_h = static_cast<int>(is[0]); p.in_w = static_cast<int>(is[1]); p.channels = static_cast<int>(is[2]);
    p.kernel_h = mp->kernel_h; p.kernel_w = mp->kernel_w; p.stride_h = mp->stride_h; p.stride_w = mp->stride_w;
    p.pad_top = mp->pad_top; p.pad_left = mp->pad_left; p.pad_bottom = mp->pad_bottom; p.pad_right = mp->pad_right;
    kernels::ref::max_pool2d_f32(p, in(0).data(), y.data());
  } else if (std::holds_alternative<GlobalAvgPoolOp>(node.op)) {
    kernels::GlobalPoolParams p{n, static_cast<int>(is[0] * is[1]), static_cast<int>(is[2])};
    kernels::ref::global_avg_pool_f32(p, in(0).data(), y.data());
  } else if (const auto* r = std::get_if<ReluOp>(&node.op)) {
    auto x = in(0);
    for (std::size_t k = 0; k < y.size(); ++k) y[k] = std::min(std::max(x[k], 0.0f), r->relu6 ? 6.0f : INFINITY);
  } else if (std::holds_alternative<AddOp>(node.op)) {
    auto a = in(0), b = in(1);
    for (std::size_t k = 0; k < y.size(); ++k) y[k] = a[k] + b[k];
  } else {
    return {};
  }
  std::vector<int> out(y.size());
  for (std::size_t k = 0; k < y.size(); ++k) {
    const double v = std::round(static_cast<double>(y[k]) / q.output.scale) + q.output.zero_point;
    out[k] = static_cast<int>(std::min(127.0, std::max(-128.0, v)));
  }
  return out;
}

void CheckLayers(const Model& q, const Dataset& d) {
  const int n = static_cast<int>(d.size());
  auto ex = Int8Executor::Create(&q, n);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  (*ex)->Forward(d.sample_type == SampleType::kInt32 ? static_cast<const void*>(d.i32.data()) : d.f32.data(), n);
  int checked = 0;
  for (int i = 1; i < static_cast<int>(q.nodes.size()); ++i) {
    const auto oracle = LayerOracle(q, **ex, i, n);
    if (oracle.empty()) continue;
    ++checked;
    int max_diff = 0;
    std::size_t off = 0;
    for (std::size_t k = 0; k < oracle.size(); ++k) {
      const int d8 = std::abs(oracle[k] - (*ex)->value(i).data<std::int8_t>()[k]);
      max_diff = std::max(max_diff, d8);
      off += d8 != 0;
    }
    INFO("node ", q.nodes[static_cast<std::size_t>(i)].name, " off ", off, " of ", oracle.size());
    // The fixed-point multiplier (31 bits) and double rounding can move a
    // value by one unit on near-ties; nothing else may differ.
    CHECK(max_diff <= 1);
    CHECK(static_cast<double>(off) <= 0.01 * static_cast<double>(oracle.size()) + 1);
  }
  CHECK(checked > 0);
}

TEST_CASE("engine: lowering folds batch norm and keeps the function") {
  for (const std::string arch : {"resnet20", "nin"}) {
    Model m = Zoo(arch, {12, 12, 3});
    auto lowered = LowerForInt8(m);
    REQUIRE_MESSAGE(lowered.ok(), lowered.status().ToString());
    for (const auto& n : lowered->nodes) {
      CHECK(!std::holds_alternative<BatchNormOp>(n.op));
      CHECK(!std::holds_alternative<DropoutOp>(n.op));
    }
    CHECK(lowered->nodes.size() < m.nodes.size());
    const Dataset d = RandomData(m, 5, 3);
    const auto a = FloatLogits(m, d);
    const auto b = FloatLogits(*lowered, d);
    float max_abs = 0, max_diff = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      max_abs = std::max(max_abs, std::fabs(a[k]));
      max_diff = std::max(max_diff, std::fabs(a[k] - b[k]));
    }
    INFO(arch, " max |logit| ", max_abs, " max diff ", max_diff);
    CHECK(max_diff <= 1e-4f * std::max(1.0f, max_abs));
  }
}

TEST_CASE("engine: a batch norm that reads a shared value becomes a depthwise conv") {
  Model m = Zoo("resnet20", {8, 8, 3});
  auto lowered = LowerForInt8(m);
  REQUIRE(lowered.ok());
  int depthwise = 0;
  for (const auto& n : lowered->nodes)
    if (const auto* c = std::get_if<Conv2dOp>(&n.op); c && c->groups == c->out_channels && c->kernel_h == 1 && c->groups > 1)
      ++depthwise;
  // Each block's pre-activation bn1 reads the block input (shared with the
  // shortcut), plus bn_final; bn2 folds into conv1.
  CHECK(depthwise == 9 + 1);
}

TEST_CASE("engine: int8 layers match float math on the same int8 inputs") {
  for (const std::string arch : {"lenet5", "resnet20", "nin", "lenet1"}) {
    INFO(arch);
    Model m = Zoo(arch, {28, 28, 1});
    const Dataset calib = RandomData(m, 8, 11);
    const Model q = QuantizeInt8(m, calib);
    CheckLayers(q, RandomData(m, 3, 12));
  }
}

TEST_CASE("engine: int8 logits track float logits for every zoo model") {
  for (const std::string arch : {"lenet5", "resnet20", "lstm", "gru"}) {
    INFO(arch);
    Model m = IsTextArchitecture(arch) ? Zoo(arch, {23}) : Zoo(arch, {28, 28, 1});
    const Dataset d = RandomData(m, 16, 21);
    const Model q = QuantizeInt8(m, d);
    const auto f = FloatLogits(m, d);
    auto ex = Int8Executor::Create(&q, 16);
    REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
    (*ex)->Forward(d.sample_type == SampleType::kInt32 ? static_cast<const void*>(d.i32.data()) : d.f32.data(), 16);
    float lo = f[0], hi = f[0], max_diff = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      lo = std::min(lo, f[k]);
      hi = std::max(hi, f[k]);
      max_diff = std::max(max_diff, std::fabs(f[k] - (*ex)->logits()[k]));
    }
    INFO("logit range ", hi - lo, " max diff ", max_diff);
    // 8-bit activations through the whole network: a few percent of the range.
    CHECK(max_diff <= 0.08f * (hi - lo));
    CHECK(max_diff > 0.0f);  // it really is a different computation
  }
}

TEST_CASE("engine: per-tensor weights share one scale and still pass the layer oracle") {
  Model m = Zoo("lenet5", {28, 28, 1});
  const Dataset calib = RandomData(m, 8, 11);
  PtqOptions o;
  o.per_tensor_weights = true;
  o.calibration.samples = 8;
  auto q = QuantizeModel(m, &calib, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  CHECK(q->quant.info.at("weights") == "per-tensor");
  const Model pc = QuantizeInt8(m, calib);
  for (std::size_t i = 0; i < q->nodes.size(); ++i) {
    const Tensor* s = q->quant.nodes[i].Find("weight_scale");
    if (!s) continue;
    for (std::int64_t k = 1; k < s->elements(); ++k) CHECK(s->f32()[k] == s->f32()[0]);
    // One scale for the tensor is the largest per-channel scale.
    const Tensor* s_pc = pc.quant.nodes[i].Find("weight_scale");
    CHECK(s->f32()[0] == *std::max_element(s_pc->f32(), s_pc->f32() + s_pc->elements()));
  }
  CheckLayers(*q, RandomData(m, 3, 12));
}

TEST_CASE("engine: int8 results do not depend on the batch") {
  for (const std::string arch : {"lenet5", "gru"}) {
    Model m = IsTextArchitecture(arch) ? Zoo(arch, {17}) : Zoo(arch, {28, 28, 1});
    const Dataset d = RandomData(m, 7, 5);
    const Model q = QuantizeInt8(m, d);
    auto all = Int8Executor::Create(&q, 7);
    auto one = Int8Executor::Create(&q, 1);
    REQUIRE(all.ok());
    REQUIRE(one.ok());
    const bool text = d.sample_type == SampleType::kInt32;
    (*all)->Forward(text ? static_cast<const void*>(d.i32.data()) : d.f32.data(), 7);
    for (int s = 0; s < 7; ++s) {
      const std::size_t off = static_cast<std::size_t>(s) * d.sample_size();
      (*one)->Forward(text ? static_cast<const void*>(d.i32.data() + off) : d.f32.data() + off, 1);
      for (int c = 0; c < q.num_classes; ++c) CHECK((*one)->logits()[c] == (*all)->logits()[s * q.num_classes + c]);
    }
  }
}

TEST_CASE("engine: bad int8 models are errors at prepare time") {
  Model m = Zoo("lenet5", {28, 28, 1});
  const Dataset d = RandomData(m, 4, 1);
  const Model good = QuantizeInt8(m, d);
  auto expect_error = [](const Model& bad, const std::string& fragment) {
    auto ex = Int8Executor::Create(&bad, 2);
    REQUIRE(!ex.ok());
    INFO(ex.status().ToString());
    CHECK(ex.status().ToString().find(fragment) != std::string::npos);
  };
  {
    Model bad = good;
    bad.quant.nodes[1].output.scale = 0.0f;
    expect_error(bad, "conv1");
  }
  {
    Model bad = good;
    bad.quant.nodes[1].constants.clear();
    expect_error(bad, "'weight' is missing");
  }
  {
    Model bad = good;
    bad.quant.nodes[1].Find("weight")->data<std::int8_t>()[0] = -128;
    expect_error(bad, "conv1");
  }
  {
    Model bad = good;
    *bad.quant.nodes[1].Find("weight_scale") = Tensor(DType::kF32, Shape{3});
    expect_error(bad, "weight_scale");
  }
  {
    Model bad = good;
    bad.quant.nodes[3].output.scale *= 2;  // pool output params differ from its input's
    expect_error(bad, "pool1");
  }
  {
    Model bad = good;
    bad.quant.nodes.pop_back();
    expect_error(bad, "quantization records");
  }
  {
    Model bn = Zoo("resnet20", {8, 8, 3});
    bn.quant = good.quant;
    bn.quant.nodes.resize(bn.nodes.size(), good.quant.nodes[1]);
    auto ex = Int8Executor::Create(&bn, 2);
    CHECK(!ex.ok());
  }
  {
    Model lstm = Zoo("lstm", {9});
    const Dataset td = RandomData(lstm, 3, 2);
    Model q = QuantizeInt8(lstm, td);
    q.quant.nodes[2].cell_exponent = 3;  // 2^3 cells: tanh(c) needs more integer bits than supported
    expect_error(q, "lstm");
  }
  CHECK(!QuantizeModel(good, &d, PtqOptions{}).ok());  // already quantized
}

TEST_CASE("engine: weight-only and 16-bit schemes run exactly their rounded weights") {
  Model m = Zoo("lenet5", {28, 28, 1});
  const Dataset d = RandomData(m, 6, 4);
  const auto f = FloatLogits(m, d);
  for (const QuantScheme scheme : {QuantScheme::kWeightOnlyInt8, QuantScheme::kFp16Weights, QuantScheme::kBf16Weights,
                                   QuantScheme::kDynamic}) {
    INFO(QuantSchemeName(scheme));
    PtqOptions o;
    o.scheme = scheme;
    auto q = QuantizeModel(m, nullptr, o);
    REQUIRE_MESSAGE(q.ok(), q.status().ToString());
    CHECK(q->quant.scheme == scheme);
    const auto g = FloatLogits(*q, d);
    float max_diff = 0, range = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      max_diff = std::max(max_diff, std::fabs(f[k] - g[k]));
      range = std::max(range, std::fabs(f[k]));
    }
    INFO("max diff ", max_diff, " max |logit| ", range);
    CHECK(max_diff > 0.0f);
    // bf16 keeps 8 significant bits, int8 ~7, fp16 11: all well within 5 %.
    CHECK(max_diff < 0.05f * range);
    const Node& fc1 = q->nodes[7];
    const NodeQuant& nq = q->quant.nodes[7];
    if (scheme == QuantScheme::kWeightOnlyInt8) {
      // The float weight is exactly scale * int8 weight.
      const Tensor& w = *nq.Find("weight");
      const float* s = nq.Find("weight_scale")->f32();
      const std::int64_t per = w.elements() / w.shape()[0];
      for (std::int64_t k = 0; k < w.elements(); k += 37)
        CHECK(fc1.params[0].value.f32()[k] == s[k / per] * static_cast<float>(w.data<std::int8_t>()[k]));
    }
    if (scheme == QuantScheme::kBf16Weights) {
      // bfloat16 is the top half of the float: the low 16 bits are zero.
      std::uint32_t bits;
      std::memcpy(&bits, &fc1.params[0].value.f32()[5], 4);
      CHECK((bits & 0xffffu) == 0u);
      CHECK(nq.Find("weight")->dtype() == DType::kBF16);
    }
  }
  // Skipping small layers leaves them float (no constants).
  PtqOptions o;
  o.scheme = QuantScheme::kWeightOnlyInt8;
  o.skip_smaller_than = 1000;
  auto q = QuantizeModel(m, nullptr, o);
  REQUIRE(q.ok());
  CHECK(q->quant.nodes[1].constants.empty());    // conv1: 150 weights
  CHECK(!q->quant.nodes[7].constants.empty());   // fc1: 48000 weights
}

// A dynamic model's logits on d, max_batch samples per Forward (the last
// call partial), and the executor's path description. Image data as floats,
// text data as token ids.
std::vector<float> RunDynamic(const Model& q, const Dataset& d, Backend backend, int threads, int max_batch,
                              std::string* path) {
  ExecutorOptions eo;
  eo.max_batch = max_batch;
  eo.backend = backend;
  eo.threads = threads;
  auto ex = Executor::Create(q, eo);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  const bool ids = !d.i32.empty();
  std::vector<float> out;
  for (int first = 0; first < static_cast<int>(d.size()); first += max_batch) {
    const int n = std::min(max_batch, static_cast<int>(d.size()) - first);
    const std::size_t at = static_cast<std::size_t>(first) * d.sample_size();
    (*ex)->Forward(ids ? static_cast<const void*>(d.i32.data() + at) : static_cast<const void*>(d.f32.data() + at), n);
    out.insert(out.end(), (*ex)->logits(), (*ex)->logits() + static_cast<std::size_t>(n) * q.num_classes);
  }
  if (path) *path = (*ex)->PathDescription();
  return out;
}

TEST_CASE("engine: dynamic text models run the hybrid recurrent kernels") {
  for (const std::string arch : {"lstm", "gru"}) {
    Model m = Zoo(arch, {19});
    const Dataset d = RandomData(m, 5, 8);
    PtqOptions o;
    o.scheme = QuantScheme::kDynamic;
    auto q = QuantizeModel(m, nullptr, o);
    REQUIRE(q.ok());
    const auto f = FloatLogits(m, d);
    const auto g = FloatLogits(*q, d);
    float max_diff = 0, range = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      max_diff = std::max(max_diff, std::fabs(f[k] - g[k]));
      range = std::max(range, std::fabs(f[k]));
    }
    INFO(arch, " max diff ", max_diff, " max |logit| ", range);
    CHECK(max_diff > 0.0f);
    CHECK(max_diff < 0.05f * range + 1e-3f);
    // The fast backend (fast::lstm_hybrid / gru_hybrid) gives the reference
    // backend's bits, at every thread count and at a max_batch that splits
    // the data into a full and a partial batch.
    auto run = [&](Backend backend, int threads, int max_batch, std::string* path) {
      return RunDynamic(*q, d, backend, threads, max_batch, path);
    };
    REQUIRE(d.i32.size() == d.size() * d.sample_size());  // token ids
    std::string path;
    const auto want = run(Backend::kReference, 1, 5, &path);
    CHECK(path.find("hybrid int8 reference") == 0);
    for (const int threads : {1, 2})
      for (const int max_batch : {5, 3}) {
        INFO("threads ", threads, " max_batch ", max_batch);
        const auto got = run(Backend::kFast, threads, max_batch, &path);
        REQUIRE(got.size() == want.size());
        CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
        CHECK(path.find(std::string("hybrid int8 fast (") + kernels::Int8GemmPathName() + ")") == 0);
      }
    Model bad = *q;
    bad.quant.nodes[2].Find("w_x_scale")->f32()[0] = 0.0f;
    ExecutorOptions eo;
    auto ex = Executor::Create(bad, eo);
    CHECK(!ex.ok());
  }
}

}  // namespace
}  // namespace qualm

namespace qualm {
namespace {

// The dynamic scheme's conv2d / dense nodes run fast::conv2d_hybrid /
// fast::dense_hybrid on the fast backend and the frozen references on the
// reference backend; the fast kernels are bit-identical, and every other node
// of these models (ReLU, pooling, flatten, add: exact in both backends) too,
// so the logits must match bit for bit, on 1 and 2 threads, and the path must
// name the int8 GEMM variant.
TEST_CASE("engine: dynamic image models give the same bits on the reference and fast backends") {
  for (const std::string arch : {"lenet5", "resnet20"}) {
    INFO(arch);
    Model m = Zoo(arch, arch == "lenet5" ? std::vector<std::int64_t>{28, 28, 1} : std::vector<std::int64_t>{12, 12, 3});
    const Dataset d = RandomData(m, 7, 11);
    PtqOptions o;
    o.scheme = QuantScheme::kDynamic;
    auto q = QuantizeModel(m, nullptr, o);
    REQUIRE_MESSAGE(q.ok(), q.status().ToString());
    auto run = [&](Backend backend, int threads, int max_batch, std::string* path) {
      return RunDynamic(*q, d, backend, threads, max_batch, path);
    };
    std::string ref_path, fast_path;
    const auto want = run(Backend::kReference, 1, 7, &ref_path);
    CHECK(ref_path.find("hybrid int8 reference") == 0);
    for (const int threads : {1, 2})
      for (const int max_batch : {7, 3}) {
        INFO("threads ", threads, " max_batch ", max_batch);
        const auto got = run(Backend::kFast, threads, max_batch, &fast_path);
        REQUIRE(got.size() == want.size());
        CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
        CHECK(fast_path.find(std::string("hybrid int8 fast (") + kernels::Int8GemmPathName() + ")") == 0);
      }
  }
}

}  // namespace
}  // namespace qualm
