// Backend::kOnednn on the study's text models (zoo "lstm": embedding 128 ->
// LSTM 50 -> dense; "gru": embedding 128 -> GRU 75 -> dense), with a small
// vocabulary:
//  * float: the recurrent node runs oneDNN's lstm_forward / lbr_gru_forward
//    (kernels/onednn/recurrent.cpp). Its hidden state is within 5e-6 of the
//    reference executor's (tests/kernels/onednn_rnn_test.cpp says why that
//    tolerance) and the logits within a normalized 1e-4, for sequence lengths
//    11 and the study's 200, the last hidden state and (a variant of the model)
//    the whole sequence, a batch smaller than the executor was made for, 1
//    and 2 threads; the path description names the oneDNN RNN.
//  * int8: the LSTM / GRU keep qualm's fast int8 kernels (oneDNN's int8 RNN
//    has other arithmetic), the dense layer oneDNN's s32 + qualm's
//    requantization: every int8 value and the logits identical to the
//    reference executor, and the path description says so.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <variant>

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/onednn.h"

namespace qualm {
namespace {

constexpr int kVocab = 53, kClasses = 3;

// A zoo text model with larger embeddings than the initial +-0.05, so that the
// gates see pre-activations of order 1 (and saturate somewhere).
Model TextModel(const std::string& arch, int seq_len, bool sequences, std::uint64_t seed) {
  ZooOptions zo;
  zo.input_shape = {seq_len};
  zo.vocab = kVocab;
  zo.num_classes = kClasses;
  auto m = BuildZooModel(arch, zo);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  if (sequences) {  // the dense layer then reads the whole sequence: its parameters are made anew
    std::visit(
        [](auto& op) {
          if constexpr (std::is_same_v<std::decay_t<decltype(op)>, LstmOp> ||
                        std::is_same_v<std::decay_t<decltype(op)>, GruOp>)
            op.return_sequences = true;
        },
        m->nodes[2].op);
    m->nodes[3].params.clear();
  }
  REQUIRE(InitializeParameters(*m, seed).ok());
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& p : m->nodes[1].params)
    for (std::int64_t i = 0; i < p.value.elements(); ++i) p.value.f32()[i] = u(rng);
  return std::move(m).value();
}

Dataset Ids(int n, int seq_len, std::uint64_t seed) {
  Dataset d;
  d.name = "ids";
  d.sample_type = SampleType::kInt32;
  d.sample_shape = {seq_len};
  d.num_classes = kClasses;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::uniform_int_distribution<int> tok(0, kVocab - 1);
  d.i32.resize(static_cast<std::size_t>(n * seq_len));
  for (auto& t : d.i32) t = tok(rng);
  for (int i = 0; i < n; ++i) d.labels.push_back(i % kClasses);
  return d;
}

std::unique_ptr<Executor> Make(const Model& m, int max_batch, Backend backend, int threads) {
  ExecutorOptions o;
  o.max_batch = max_batch;
  o.backend = backend;
  o.threads = threads;
  auto ex = Executor::Create(m, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  return std::move(ex).value();
}

double MaxDiff(const float* a, const float* b, std::size_t count) {
  double m = 0;
  for (std::size_t i = 0; i < count; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

}  // namespace

TEST_CASE("engine: float LSTM / GRU text models on the onednn backend within tolerance of the reference") {
  if (!kernels::onednn::Available()) {
    MESSAGE("skipped: " << std::string(kernels::onednn::kUnavailableMessage));
    return;
  }
  std::uint64_t seed = 5;
  for (const std::string arch : {"lstm", "gru"})
    for (int seq_len : {11, 200})
      for (bool sequences : {false, true}) {
        const std::string what = arch + " T " + std::to_string(seq_len) + (sequences ? " sequence" : " last state");
        CAPTURE(what);
        const Model m = TextModel(arch, seq_len, sequences, ++seed);
        const Dataset d = Ids(7, seq_len, seed + 100);
        const std::size_t state = static_cast<std::size_t>(Make(m, 1, Backend::kReference, 1)->values()[2].sample_shape.elements());
        for (int threads : {1, 2})
          for (int n : {7, 4}) {
            CAPTURE(threads);
            CAPTURE(n);
            auto ref = Make(m, 7, Backend::kReference, 1);
            auto dnn = Make(m, 7, Backend::kOnednn, threads);
            ref->Forward(d.i32.data(), n);
            dnn->Forward(d.i32.data(), n);
            const float* hr = ref->values()[2].value.f32();
            const float* hd = dnn->values()[2].value.f32();
            const std::size_t count = static_cast<std::size_t>(n) * state;
            double max_h = 0;
            std::size_t away = 0;
            for (std::size_t i = 0; i < count; ++i) {
              max_h = std::max(max_h, std::fabs(static_cast<double>(hr[i])));
              away += std::fabs(hr[i]) < 0.9f;
            }
            CHECK(max_h > 0.1);
            CHECK(away * 2 > count);
            const double dh = MaxDiff(hr, hd, count);
            INFO("hidden state: max |onednn - reference| = " << dh);
            CHECK(dh <= 5e-6);
            const std::size_t nl = static_cast<std::size_t>(n * kClasses);
            double max_logit = 0;
            for (std::size_t i = 0; i < nl; ++i)
              max_logit = std::max(max_logit, std::fabs(static_cast<double>(ref->logits()[i])));
            const double dl = MaxDiff(ref->logits(), dnn->logits(), nl);
            INFO("logits: max |onednn - reference| = " << dl << ", max |logit| = " << max_logit);
            CHECK(max_logit > 1e-3);
            CHECK(dl <= 1e-4 * max_logit);
          }
        auto dnn = Make(m, 3, Backend::kOnednn, 1);
        const std::string path = dnn->PathDescription();
        CHECK(path.find("onednn (conv2d/dense/lstm/gru: oneDNN ") == 0);
        CHECK(path.find(arch == "lstm" ? "lstm brgemm" : "lbr_gru ") != std::string::npos);
        if (seq_len == 200 && !sequences) MESSAGE(arch << ": " << path);
      }
}

TEST_CASE("engine: int8 LSTM / GRU text models on the onednn backend are bit-identical to the reference") {
  if (!kernels::onednn::Available()) {
    MESSAGE("skipped: " << std::string(kernels::onednn::kUnavailableMessage));
    return;
  }
  for (const std::string arch : {"lstm", "gru"}) {
    CAPTURE(arch);
    const int seq_len = 23, n = 6;
    const Model m = TextModel(arch, seq_len, false, 77);
    const Dataset calib = Ids(16, seq_len, 1), d = Ids(n, seq_len, 2);
    PtqOptions po;
    po.calibration.samples = 16;
    auto q = QuantizeModel(m, &calib, po);
    REQUIRE_MESSAGE(q.ok(), q.status().ToString());
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      Int8ExecutorOptions o;
      o.backend = Backend::kReference;
      auto ref = Int8Executor::Create(&*q, n, o);
      o.backend = Backend::kOnednn;
      o.threads = threads;
      auto dnn = Int8Executor::Create(&*q, n, o);
      REQUIRE_MESSAGE(ref.ok(), ref.status().ToString());
      REQUIRE_MESSAGE(dnn.ok(), dnn.status().ToString());
      (*ref)->Forward(d.i32.data(), n);
      (*dnn)->Forward(d.i32.data(), n);
      for (int i = 1; i < static_cast<int>(q->nodes.size()); ++i) {
        const std::size_t bytes = static_cast<std::size_t>(n * (*ref)->sample_shape(i).elements());
        const auto* a = (*ref)->value(i).data<std::int8_t>();
        const auto* b = (*dnn)->value(i).data<std::int8_t>();
        std::size_t differ = 0, nonzero = 0;
        for (std::size_t k = 0; k < bytes; ++k) differ += a[k] != b[k], nonzero += a[k] != 0;
        INFO("node " << q->nodes[static_cast<std::size_t>(i)].name << ": " << differ << " of " << bytes << " differ");
        CHECK(differ == 0);
        CHECK(nonzero * 2 > bytes);  // not a degenerate all-zero value
      }
      CHECK(std::memcmp((*ref)->logits(), (*dnn)->logits(), static_cast<std::size_t>(n * kClasses) * sizeof(float)) == 0);
      const std::string path = (*dnn)->PathDescription();
      CHECK(path.find("int8 onednn (conv2d/dense: oneDNN ") == 0);
      CHECK(path.find("lstm/gru qualm's fast int8 kernels") != std::string::npos);
      if (threads == 1) MESSAGE(arch << " int8: " << path);
    }
  }
}

}  // namespace qualm
