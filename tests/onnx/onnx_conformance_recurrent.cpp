// ONNX node tests for LSTM and GRU through qualm's float recurrent kernels.
//
// Layout conversion (harness):
//   X      ONNX [T][B][I] (layout 0) or [B][T][I] (layout 1) -> qualm [B][T][I]
//   Y      qualm [B][T][H] -> ONNX [T][1][B][H] (layout 0) or [B][T][1][H] (layout 1)
//   Y_h/Y_c, initial_h/c: [1][B][H] or [B][1][H] -> [B][H] (one direction: same order)
//   LSTM   W [1][4H][I], R [1][4H][H] in ONNX gate order i, o, f, c -> qualm i, f, g, o
//          (qualm block k <- ONNX block {0, 2, 3, 1}[k]); B [1][8H] = [Wb | Rb] ->
//          qualm's single bias Wb + Rb (one float add per element, in the harness).
//   GRU    W [1][3H][I], R [1][3H][H] in gate order z, r, h = qualm's z, r, n;
//          B [1][6H] = [Wb | Rb] -> b_x, b_h.
// ONNX's GRU default is linear_before_reset = 0 ("reset before"): it runs on
// ref::gru_reset_before_f32 (recurrent.h, reference only). linear_before_reset = 1
// would run ref::gru_f32 and fast::gru_f32; no case in this data set has it. The
// LSTM runs on ref::lstm_f32 and on fast::lstm_f32 under every gemm variant, 1 and 2
// threads. Tolerance: conformance.h (|got - want| <= 1e-5 + 1e-4 |want|).
//
// case                        | runs | reason when not / note
// ----------------------------+------+--------------------------------------------------------
// test_lstm_defaults          | yes  | only Y_h is a graph output
// test_lstm_with_initial_bias | yes  |
// test_lstm_batchwise         | yes  | layout = 1; Y and Y_h
// test_lstm_with_peepholes    | no   | peepholes (input P): qualm's LSTM has none
// test_gru_defaults           | yes  | reset-before reference
// test_gru_with_initial_bias  | yes  | reset-before reference
// test_gru_seq_length         | yes  | reset-before reference (no sequence_lens input is given)
// test_gru_batchwise          | yes  | layout = 1; reset-before reference
// Declined in general (none of these cases): direction reverse/bidirectional,
// non-default activations, clip, input_forget, sequence_lens shorter than T.
#include <string>
#include <vector>

#include "conformance.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;
using namespace qualm_onnx;

namespace {

struct Seq {
  int T = 0, B = 0, I = 0, H = 0;
  bool batch_first = false;
};

// Checks the attributes and inputs every recurrent op shares; "" when runnable.
std::string CommonDecline(const Case& c, int gates, Seq* s) {
  const Tensor* x = c.Input(0);
  const Tensor* w = c.Input(1);
  const Tensor* r = c.Input(2);
  if (!x || !w || !r) return "missing X, W or R";
  if (c.Str("direction", "forward") != "forward") return "direction " + c.Str("direction", "");
  if (c.Has("activations")) return "non-default activations";
  if (c.Has("clip")) return "clip: qualm's recurrent kernels do not clip";
  if (x->dims.size() != 3 || w->dims.size() != 3 || w->dim(0) != 1) return "shapes";
  s->batch_first = c.Int("layout", 0) == 1;
  s->T = static_cast<int>(s->batch_first ? x->dim(1) : x->dim(0));
  s->B = static_cast<int>(s->batch_first ? x->dim(0) : x->dim(1));
  s->I = static_cast<int>(x->dim(2));
  s->H = static_cast<int>(c.Int("hidden_size", w->dim(1) / gates));
  if (w->dim(1) != gates * s->H) return "W rows are not gates * hidden_size";
  if (const Tensor* lens = c.Input(4)) {
    for (auto v : lens->ints)
      if (v != s->T) return "sequence_lens shorter than the sequence";
  }
  return "";
}

// [T][B][F] <-> [B][T][F]
std::vector<float> SwapTB(const std::vector<float>& v, int first, int second, int f) {
  std::vector<float> out(v.size());
  for (int a = 0; a < first; ++a)
    for (int b = 0; b < second; ++b)
      for (int k = 0; k < f; ++k) out[(static_cast<std::size_t>(b) * first + a) * f + k] = v[(static_cast<std::size_t>(a) * second + b) * f + k];
  return out;
}

// Gate blocks of `rows_per_gate` rows x `cols` each, reordered: out block k = in block order[k].
std::vector<float> ReorderGates(const float* in, const std::vector<int>& order, int rows_per_gate, int cols) {
  const std::size_t block = static_cast<std::size_t>(rows_per_gate) * cols;
  std::vector<float> out(order.size() * block);
  for (std::size_t k = 0; k < order.size(); ++k)
    std::copy(in + order[k] * block, in + (order[k] + 1) * block, out.begin() + k * block);
  return out;
}

// Compares qualm's y [B][T][H], h_n [B][H] (and c_n) with whichever of Y, Y_h, Y_c
// are graph outputs.
void CheckOutputs(const Case& c, Outcome& o, const Seq& s, const std::string& path, const std::vector<float>& y,
                  const std::vector<float>& h_n, const std::vector<float>* c_n) {
  if (const Tensor* want = c.Output(0))
    o.Check(CompareFloat(What(c, "Y", path), s.batch_first ? y : SwapTB(y, s.B, s.T, s.H), *want, kAtol, kRtol));
  if (const Tensor* want = c.Output(1)) o.Check(CompareFloat(What(c, "Y_h", path), h_n, *want, kAtol, kRtol));
  if (const Tensor* want = c.Output(2); want && c_n)
    o.Check(CompareFloat(What(c, "Y_c", path), *c_n, *want, kAtol, kRtol));
}

Outcome RunLstm(const Case& c) {
  Seq s;
  if (auto why = CommonDecline(c, 4, &s); !why.empty()) return Decline(why);
  if (c.Input(7)) return Decline("peepholes (input P): qualm's LSTM has none");
  if (c.Int("input_forget", 0) != 0) return Decline("input_forget (coupled gates)");
  const Tensor& x = *c.Input(0);
  const Tensor& w = *c.Input(1);
  const Tensor& r = *c.Input(2);
  const Tensor* b = c.Input(3);
  const Tensor* h0 = c.Input(5);
  const Tensor* c0 = c.Input(6);
  const std::vector<int> order{0, 2, 3, 1};  // qualm i, f, g, o <- ONNX i, o, f, c
  const auto wx = ReorderGates(w.f.data(), order, s.H, s.I);
  const auto wh = ReorderGates(r.f.data(), order, s.H, s.H);
  std::vector<float> bias;
  if (b) {
    std::vector<float> sum(4 * static_cast<std::size_t>(s.H));
    for (std::size_t j = 0; j < sum.size(); ++j) sum[j] = b->f[j] + b->f[sum.size() + j];
    bias = ReorderGates(sum.data(), order, s.H, 1);
  }
  const qk::RnnParams p{s.B, s.T, s.I, s.H};
  const qk::LstmWeights lw{wx.data(), wh.data(), b ? bias.data() : nullptr};
  const auto xs = s.batch_first ? x.f : SwapTB(x.f, s.T, s.B, s.I);
  const float* h0p = h0 ? h0->f.data() : nullptr;
  const float* c0p = c0 ? c0->f.data() : nullptr;

  Outcome o;
  o.ran = true;
  if (const auto st = qk::Validate(p); !st.ok()) {
    o.Check(c.name + ": " + st.ToString());
    return o;
  }
  const std::size_t BH = static_cast<std::size_t>(s.B) * s.H;
  std::vector<float> y(BH * s.T), h_n(BH), c_n(BH);
  qk::ref::lstm_f32(p, lw, xs.data(), h0p, c0p, y.data(), h_n.data(), c_n.data(), nullptr, nullptr);
  CheckOutputs(c, o, s, "ref", y, h_n, &c_n);
  ForEachFastPath([&](int threads, const std::string& label) {
    Scratch scratch(qk::fast::lstm_scratch_floats(p, threads));
    for (auto* v : {&y, &h_n, &c_n}) std::fill(v->begin(), v->end(), std::numeric_limits<float>::quiet_NaN());
    qk::fast::lstm_f32(scratch.Context(threads), p, lw, xs.data(), h0p, c0p, y.data(), h_n.data(), c_n.data(),
                       nullptr, nullptr);
    CheckOutputs(c, o, s, label, y, h_n, &c_n);
  });
  return o;
}

Outcome RunGru(const Case& c) {
  Seq s;
  if (auto why = CommonDecline(c, 3, &s); !why.empty()) return Decline(why);
  const Tensor& x = *c.Input(0);
  const Tensor& w = *c.Input(1);
  const Tensor& r = *c.Input(2);
  const Tensor* b = c.Input(3);
  const Tensor* h0 = c.Input(5);
  const bool linear_before_reset = c.Int("linear_before_reset", 0) != 0;
  const std::size_t G = 3 * static_cast<std::size_t>(s.H);
  const qk::RnnParams p{s.B, s.T, s.I, s.H};
  const qk::GruWeights gw{w.f.data(), r.f.data(), b ? b->f.data() : nullptr, b ? b->f.data() + G : nullptr};
  const auto xs = s.batch_first ? x.f : SwapTB(x.f, s.T, s.B, s.I);
  const float* h0p = h0 ? h0->f.data() : nullptr;

  Outcome o;
  o.ran = true;
  if (const auto st = qk::Validate(p); !st.ok()) {
    o.Check(c.name + ": " + st.ToString());
    return o;
  }
  const std::size_t BH = static_cast<std::size_t>(s.B) * s.H;
  std::vector<float> y(BH * s.T), h_n(BH);
  if (!linear_before_reset) {
    std::vector<float> scratch(qk::ref::gru_reset_before_scratch_floats(p));
    qk::ref::gru_reset_before_f32(p, gw, xs.data(), h0p, y.data(), h_n.data(), scratch.data());
    CheckOutputs(c, o, s, "ref reset-before", y, h_n, nullptr);
    return o;
  }
  qk::ref::gru_f32(p, gw, xs.data(), h0p, y.data(), h_n.data(), nullptr, nullptr);
  CheckOutputs(c, o, s, "ref", y, h_n, nullptr);
  ForEachFastPath([&](int threads, const std::string& label) {
    Scratch scratch(qk::fast::gru_scratch_floats(p, threads));
    for (auto* v : {&y, &h_n}) std::fill(v->begin(), v->end(), std::numeric_limits<float>::quiet_NaN());
    qk::fast::gru_f32(scratch.Context(threads), p, gw, xs.data(), h0p, y.data(), h_n.data(), nullptr, nullptr);
    CheckOutputs(c, o, s, label, y, h_n, nullptr);
  });
  return o;
}

}  // namespace

TEST_CASE("LSTM (float): ONNX node tests - ref and fast") {
  RunFamily({"test_lstm_"},
            {{"test_lstm_batchwise", true},
             {"test_lstm_defaults", true},
             {"test_lstm_with_initial_bias", true},
             {"test_lstm_with_peepholes", false}},
            RunLstm);
}

TEST_CASE("GRU (float): ONNX node tests - reset-before reference") {
  RunFamily({"test_gru_"},
            {{"test_gru_batchwise", true},
             {"test_gru_defaults", true},
             {"test_gru_seq_length", true},
             {"test_gru_with_initial_bias", true}},
            RunGru);
}
