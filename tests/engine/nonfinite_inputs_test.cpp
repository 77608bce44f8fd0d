// What NaN and infinite inputs, and a batch of zero samples, do on each path
// (docs/LIMITS.md, "Non-finite inputs and empty batches"):
//  * float (reference and fast): IEEE arithmetic, no check; the sample's
//    logits are whatever the ops make of it (NaN, or finite where a ReLU or a
//    max pool drops the NaN), and no other sample of the batch is affected.
//  * int8: the input quantization maps NaN to the zero point (= 0.0) and clamps
//    +-Inf to 127 / -128, exactly as the finite values 0, +FLT_MAX and -FLT_MAX:
//    the logits are those of that substituted input, bit for bit, and finite.
//  * dynamic: a sample holding a NaN or an infinity is not quantized and every
//    product it feeds is NaN (kernels/hybrid_quant.h); other samples unaffected.
//    A following ReLU turns those NaNs into 0, so the logits can be finite.
//  * n = 0: Run does nothing; the executor runs later batches as a fresh one.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "qualm/engine/inference.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"

namespace qualm {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kPixels = 28 * 28;

Model Lenet() {
  ZooOptions o;
  o.input_shape = {28, 28, 1};
  o.num_classes = 10;
  auto m = BuildZooModel("lenet5", o);
  REQUIRE(m.ok());
  REQUIRE(InitializeParameters(*m, 11).ok());
  return std::move(m).value();
}

std::vector<float> RandomImages(int n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n) * kPixels);
  for (float& x : v) x = rng.Uniform();
  return v;
}

std::vector<float> Logits(const Model& m, Backend backend, const std::vector<float>& images, int n) {
  InferenceOptions o;
  o.max_batch = n;
  o.backend = backend;
  auto run = Inference::Create(m, o);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  (*run)->Run(images.data(), n);
  return std::vector<float>((*run)->logits(), (*run)->logits() + static_cast<std::size_t>(n) * 10);
}

bool SameBits(const float* a, const float* b, int n) { return std::memcmp(a, b, sizeof(float) * n) == 0; }

struct Paths {
  Model float_model, int8_model, dynamic_model;
};

Paths MakePaths() {
  Paths p{Lenet(), {}, {}};
  Dataset calib;
  calib.name = "calib";
  calib.sample_type = SampleType::kFloat32;
  calib.sample_shape = {28, 28, 1};
  calib.num_classes = 10;
  calib.f32 = RandomImages(16, 5);
  calib.labels.assign(16, 0);
  PtqOptions o;
  o.calibration.samples = 16;
  auto q = QuantizeModel(p.float_model, &calib, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  p.int8_model = std::move(q).value();
  o.scheme = QuantScheme::kDynamic;
  auto d = QuantizeModel(p.float_model, nullptr, o);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  p.dynamic_model = std::move(d).value();
  return p;
}

}  // namespace

TEST_CASE("nonfinite: NaN and infinite pixels on the float, int8 and dynamic paths") {
  const Paths paths = MakePaths();
  // Sample 0 finite; 1: one NaN pixel; 2: +Inf and -Inf pixels; 3: all NaN.
  std::vector<float> batch = RandomImages(4, 9);
  batch[1 * kPixels + 200] = kNan;
  batch[2 * kPixels + 300] = kInf;
  batch[2 * kPixels + 301] = -kInf;
  for (int i = 0; i < kPixels; ++i) batch[3 * kPixels + i] = kNan;
  // The same inputs with the non-finite pixels replaced as int8 quantization treats them.
  std::vector<float> substituted = batch;
  for (float& x : substituted) x = std::isnan(x) ? 0.0f : x == kInf ? FLT_MAX : x == -kInf ? -FLT_MAX : x;
  // The same batch with finite samples 1-3: the same batch size, so that the
  // fast float GEMM blocks the same way (it is not bit-stable across sizes).
  std::vector<float> clean = RandomImages(4, 10);
  std::copy(batch.begin(), batch.begin() + kPixels, clean.begin());

  for (const Backend backend : {Backend::kReference, Backend::kFast}) {
    INFO(std::string(BackendName(backend)));
    for (const Model* m : {&paths.float_model, &paths.int8_model, &paths.dynamic_model}) {
      INFO(std::string(QuantSchemeName(m->quant.scheme)));
      const std::vector<float> got = Logits(*m, backend, batch, 4);
      // The finite sample is untouched by its non-finite neighbours.
      CHECK(SameBits(got.data(), Logits(*m, backend, clean, 4).data(), 10));
      if (m == &paths.int8_model) {
        const std::vector<float> want = Logits(*m, backend, substituted, 4);
        CHECK(SameBits(got.data(), want.data(), 40));
        for (float v : got) CHECK(std::isfinite(v));
      }
      if (m == &paths.dynamic_model) {
        // Every product of a non-finite sample is NaN: the first conv's outputs
        // are all NaN whichever pixel was, so the three non-finite samples give
        // the same logits (a NaN that reached only some outputs, as on the
        // float path, would not). Here they are finite: the ReLU after the
        // conv maps NaN to 0 (x > 0 is false), see docs/LIMITS.md.
        CHECK(SameBits(got.data() + 10, got.data() + 20, 10));
        CHECK(SameBits(got.data() + 10, got.data() + 30, 10));
      }
    }
  }
}

TEST_CASE("nonfinite: a batch of zero samples is a no-op on every path") {
  const Paths paths = MakePaths();
  const std::vector<float> one = RandomImages(1, 21);
  for (const Backend backend : {Backend::kReference, Backend::kFast}) {
    for (const Model* m : {&paths.float_model, &paths.int8_model, &paths.dynamic_model}) {
      const std::string where = std::string(BackendName(backend)) + " " + QuantSchemeName(m->quant.scheme);
      INFO(where);
      InferenceOptions o;
      o.max_batch = 3;
      o.backend = backend;
      auto run = Inference::Create(*m, o);
      REQUIRE(run.ok());
      (*run)->Run(nullptr, 0);
      (*run)->Run(one.data(), 1);
      const std::vector<float> after_empty((*run)->logits(), (*run)->logits() + 10);
      (*run)->Run(one.data(), 0);
      CHECK(SameBits((*run)->logits(), after_empty.data(), 10));  // n = 0 left the last logits alone
      CHECK(SameBits(after_empty.data(), Logits(*m, backend, one, 1).data(), 10));
    }
  }
}

}  // namespace qualm
