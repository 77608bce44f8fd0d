// kernels/onednn/recurrent.cpp: float LSTM and GRU through oneDNN's RNN
// primitives (onednn.h, "Float LSTM / GRU"); compiled only when the build has
// oneDNN (absent.cpp otherwise).
//
// One class, RnnOp, for both cells: they differ only in the primitive
// descriptor (lstm_forward / lbr_gru_forward), the gate count and the bias
// rows. Activations stay in qualm's batch-first layout, which oneDNN calls
// `ntc` (x [n][t][c]), so Run points the primitive at the caller's buffers and
// a smaller batch at an offset into them. Everything else (primitives for the
// max batch and the powers of two below it, weights reordered once per layout
// the primitives ask for, the bias, one scratchpad shared by the primitives)
// is made here at Prepare.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "primitive_cache.h"
#include "qualm/kernels/onednn.h"

namespace qualm::kernels::onednn {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

enum class Cell : std::uint8_t { kLstm, kGru };

// The weights in qualm's layout and the bias rows oneDNN wants ([bias_gates][H]).
struct RnnOperands {
  const float* w_x = nullptr;  // [G*H][I]
  const float* w_h = nullptr;  // [G*H][H]
  std::vector<float> bias;
};

// The implementation the primitive runs, asked of the created primitive: in
// oneDNN 2.6 the RNN primitive descriptor's impl_info_str() said "ref" for an
// LSTM that ONEDNN_VERBOSE showed running "brgemm"; the primitive's own
// descriptor names it ("brgemm", or "ref" for the RNN driver over jit sgemm).
std::string ImplInfo(const dnnl::primitive& prim, Cell cell) {
  const char* info = nullptr;
  dnnl_primitive_desc_query(prim.get_primitive_desc(), dnnl_query_impl_info_str, 0, &info);
  return std::string(cell == Cell::kLstm ? "lstm " : "lbr_gru ") + (info ? info : "?");
}

class RnnOp final : public PreparedRnnF32 {
 public:
  RnnOp() : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {}

  Status Build(Cell cell, const RnnParams& p, const RnnOperands& w, int threads) {
    p_ = p;
    threads_ = threads;
    omp_set_num_threads(threads);
    const memory::dim T = p.seq_len, I = p.input_size, H = p.hidden_size;
    const memory::dim G = cell == Cell::kLstm ? 4 : 3;
    const memory::dim bias_gates = static_cast<memory::dim>(w.bias.size()) / H;
    try {
      // qualm's w_x [G*H][I] is oneDNN's ldgoi (dims l, d, i, g, o stored l, d, g, o, i).
      const memory::desc user_wx({1, 1, I, G, H}, dt::f32, tag::ldgoi);
      const memory::desc user_wh({1, 1, H, G, H}, dt::f32, tag::ldgoi);
      const memory user_x(user_wx, eng_, const_cast<float*>(w.w_x));
      const memory user_h(user_wh, eng_, const_cast<float*>(w.w_h));
      const memory::desc bias_md({1, 1, bias_gates, H}, dt::f32, tag::ldgo);
      bias_ = memory(bias_md, eng_);
      std::memcpy(bias_.get_data_handle(), w.bias.data(), w.bias.size() * sizeof(float));
      // The scratchpad is ours: one buffer, as large as the largest primitive
      // needs, made below once every primitive descriptor is known.
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      std::vector<int> sizes{p.batch};
      for (int s = 1 << 30; s >= 1; s >>= 1)
        if (s < p.batch) sizes.push_back(s);
      std::vector<memory::desc> scratch_mds;
      const memory::desc none;
      const auto kind = dnnl::prop_kind::forward_inference;
      const auto dir = dnnl::rnn_direction::unidirectional_left2right;
      for (int b : sizes) {
        const memory::desc src_md({T, b, I}, dt::f32, tag::ntc), dst_md({T, b, H}, dt::f32, tag::ntc);
        const memory::desc wx_any({1, 1, I, G, H}, dt::f32, tag::any), wh_any({1, 1, H, G, H}, dt::f32, tag::any);
        PrimitiveEntry e;
        memory::desc wx_md, wh_md;
        if (cell == Cell::kLstm) {
          const dnnl::lstm_forward::desc d(kind, dir, src_md, none, none, wx_any, wh_any, bias_md, dst_md, none, none);
          const dnnl::lstm_forward::primitive_desc pd(d, attr, eng_);
          e.prim = dnnl::lstm_forward(pd);
          wx_md = pd.weights_layer_desc(), wh_md = pd.weights_iter_desc();
          scratch_mds.push_back(pd.scratchpad_desc());
        } else {
          const dnnl::lbr_gru_forward::desc d(kind, dir, src_md, none, wx_any, wh_any, bias_md, dst_md, none);
          const dnnl::lbr_gru_forward::primitive_desc pd(d, attr, eng_);
          e.prim = dnnl::lbr_gru_forward(pd);
          wx_md = pd.weights_layer_desc(), wh_md = pd.weights_iter_desc();
          scratch_mds.push_back(pd.scratchpad_desc());
        }
        if (impl_.empty()) impl_ = ImplInfo(e.prim, cell);
        e.batch = b;
        e.src = memory(src_md, eng_, nullptr);
        e.dst = memory(dst_md, eng_, nullptr);
        e.args = {{DNNL_ARG_SRC_LAYER, e.src},
                  {DNNL_ARG_WEIGHTS_LAYER, Weights(user_x, wx_md)},
                  {DNNL_ARG_WEIGHTS_ITER, Weights(user_h, wh_md)},
                  {DNNL_ARG_BIAS, bias_},
                  {DNNL_ARG_DST_LAYER, e.dst}};
        entries_.push_back(std::move(e));
      }
      std::size_t scratch_bytes = 0;
      for (const memory::desc& md : scratch_mds) scratch_bytes = std::max(scratch_bytes, md.get_size());
      if (scratch_bytes > 0) {
        scratchpad_ = memory(memory::desc({static_cast<memory::dim>(scratch_bytes)}, dt::u8, tag::x), eng_);
        for (std::size_t k = 0; k < entries_.size(); ++k)
          if (scratch_mds[k].get_size() > 0)
            entries_[k].args.insert(
                {DNNL_ARG_SCRATCHPAD, memory(scratch_mds[k], eng_, scratchpad_.get_data_handle())});
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      return Unimplemented(std::string("oneDNN could not create the ") + (cell == Cell::kLstm ? "LSTM" : "GRU") +
                           " (" + std::to_string(T) + " steps, input " + std::to_string(I) + ", hidden " +
                           std::to_string(H) + "): " + e.what());
    }
    return Status();
  }

  void Run(int n, const float* x, float* y, float* h_n) override {
    omp_set_num_threads(threads_);
    const std::size_t in_sample = static_cast<std::size_t>(p_.seq_len) * p_.input_size;
    const std::size_t out_sample = static_cast<std::size_t>(p_.seq_len) * p_.hidden_size;
    int done = 0;
    for (PrimitiveEntry& e : entries_) {
      while (n - done >= e.batch) {
        e.src.set_data_handle(const_cast<float*>(x) + static_cast<std::size_t>(done) * in_sample);
        e.dst.set_data_handle(y + static_cast<std::size_t>(done) * out_sample);
        e.prim.execute(strm_, e.args);
        done += e.batch;
      }
    }
    strm_.wait();
    if (!h_n) return;
    // The last hidden state is y's last step (what dst_iter would hold).
    const std::size_t H = static_cast<std::size_t>(p_.hidden_size);
    for (int b = 0; b < n; ++b)
      std::memcpy(h_n + static_cast<std::size_t>(b) * H, y + static_cast<std::size_t>(b) * out_sample + out_sample - H,
                  H * sizeof(float));
  }

  std::string ImplName() const override { return impl_; }

 private:
  // The weights in layout `md` (reordered once per layout).
  memory Weights(const memory& user, const memory::desc& md) { return weights_.Get(user, md, eng_, strm_); }

  dnnl::engine eng_;
  dnnl::stream strm_;
  RnnParams p_;
  int threads_ = 1;
  std::vector<PrimitiveEntry> entries_;  // largest batch first
  WeightLayouts weights_;
  memory bias_, scratchpad_;
  std::string impl_;
};

Status CheckWeights(const char* op, const float* w_x, const float* w_h) {
  if (!w_x || !w_h) return InvalidArgument(std::string("oneDNN ") + op + ": w_x and w_h are required");
  return Status();
}

}  // namespace

Result<std::unique_ptr<PreparedRnnF32>> PrepareLstmF32(const RnnParams& p, const LstmWeights& w, int threads) {
  QUALM_RETURN_IF_ERROR(Validate(p));
  QUALM_RETURN_IF_ERROR(CheckWeights("LSTM", w.w_x, w.w_h));
  // Gate order i, f, g, o is oneDNN's (i, f, c~, o); one bias row per gate.
  const std::size_t G = 4, H = static_cast<std::size_t>(p.hidden_size);
  RnnOperands o{w.w_x, w.w_h, std::vector<float>(G * H, 0.0f)};
  if (w.bias) std::copy(w.bias, w.bias + G * H, o.bias.begin());
  auto op = std::make_unique<RnnOp>();
  QUALM_RETURN_IF_ERROR(op->Build(Cell::kLstm, p, o, threads));
  return std::unique_ptr<PreparedRnnF32>(std::move(op));
}

Result<std::unique_ptr<PreparedRnnF32>> PrepareGruF32(const RnnParams& p, const GruWeights& w, int threads) {
  QUALM_RETURN_IF_ERROR(Validate(p));
  QUALM_RETURN_IF_ERROR(CheckWeights("GRU", w.w_x, w.w_h));
  // oneDNN's linear-before-reset GRU, gates (u, r, o) = qualm's (z, r, n):
  //   u = sigma(W_u x + U_u h + b_u)   r = sigma(W_r x + U_r h + b_r)
  //   o = tanh(W_o x + b_o + r * (U_o h + b_o'))   h_t = u * h_{t-1} + (1 - u) * o
  // so its four bias rows are b_x + b_h (z), b_x + b_h (r), b_x (n), b_h (n).
  const std::size_t H = static_cast<std::size_t>(p.hidden_size);
  RnnOperands o{w.w_x, w.w_h, std::vector<float>(4 * H, 0.0f)};
  for (std::size_t j = 0; j < 3 * H; ++j) {
    const float bx = w.b_x ? w.b_x[j] : 0.0f, bh = w.b_h ? w.b_h[j] : 0.0f;
    if (j < 2 * H) o.bias[j] = bx + bh;
    else o.bias[j] = bx, o.bias[j + H] = bh;
  }
  auto op = std::make_unique<RnnOp>();
  QUALM_RETURN_IF_ERROR(op->Build(Cell::kGru, p, o, threads));
  return std::unique_ptr<PreparedRnnF32>(std::move(op));
}

}  // namespace qualm::kernels::onednn
