// fast::lstm_s8 / fast::gru_s8 (recurrent_s8.h, "Fast paths"): the weight
// packing, the gate-stage dispatch, and the driver around the int8 GEMM.
//
// Per call, in blocks of tb time steps (tb * B ~ kChunkRows rows):
//   1. the input product of the block's tb * B rows (b, t) as one GEMM (raw
//      int32, zero point 0), each row requantized at once into ax
//      [tb * B][Gp] (int16 Q3.12: the reference's sat16(RQ(acc_x)), which it
//      recomputes identically per step). Blocks, not all B*T rows up front,
//      so that ax stays in L1 / L2 (B*T*Gp int16 is megabytes at B = 32,
//      T = 200), while a batch of 1 still gets GEMMs of 64 rows;
//   2. per step of the block, the recurrent product of the B rows of h_{t-1}
//      as one GEMM, then the gate stage per batch row (it reads ax and the
//      accumulators and updates the state and h). h_t is written only after
//      the step's GEMM has read h_{t-1}, as the reference.
// The GEMM is the dispatched int8 GEMM (ActiveInt8GemmVariant), the gate stage
// its own per-ISA table (RnnS8GatesVariants), both capped by QUALM_ISA.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fast/int8_rows.h"
#include "internal/isa_dispatch.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"

namespace qualm::kernels {

using Index = std::int64_t;

namespace detail {
namespace {

std::atomic<const RnnS8GatesVariant*> g_override{nullptr};

const RnnS8GatesVariant& Chosen() {
  static const RnnS8GatesVariant* chosen = [] {
    for (const RnnS8GatesVariant& v : RnnS8GatesVariants())
      if (IsaAvailable(v.isa)) return &v;
    return &RnnS8GatesVariants().back();
  }();
  return *chosen;
}

}  // namespace

const std::vector<RnnS8GatesVariant>& RnnS8GatesVariants() {
  static const std::vector<RnnS8GatesVariant> table = {
  // The x86 entries exist only in x86 builds (the ARM runtime has the generic one).
#if defined(__x86_64__) || defined(__i386__)
      {Isa::kAvx512, "s8_rnn_gates_32c__avx512", &s8_rnn_requant_x_32c__avx512, &s8_rnn_lstm_step_32c__avx512,
       &s8_rnn_gru_step_32c__avx512, &s8_rnn_activation_32c__avx512},
      {Isa::kAvx2, "s8_rnn_gates_16c__avx2", &s8_rnn_requant_x_16c__avx2, &s8_rnn_lstm_step_16c__avx2,
       &s8_rnn_gru_step_16c__avx2, &s8_rnn_activation_16c__avx2},
#endif
      {Isa::kScalar, "s8_rnn_gates_1c__generic", &s8_rnn_requant_x_1c__generic, &s8_rnn_lstm_step_1c__generic,
       &s8_rnn_gru_step_1c__generic, &s8_rnn_activation_1c__generic},
  };
  return table;
}

const RnnS8GatesVariant& ActiveRnnS8GatesVariant() {
  const RnnS8GatesVariant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : Chosen();
}

std::string DescribeRnnS8GatesDispatch() {
  return internal::DescribeDispatch(RnnS8GatesVariants(), g_override.load(std::memory_order_relaxed));
}

ScopedRnnS8GatesIsaForTesting::ScopedRnnS8GatesIsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const RnnS8GatesVariant* v = internal::RunnableVariantFor(RnnS8GatesVariants(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedRnnS8GatesIsaForTesting::~ScopedRnnS8GatesIsaForTesting() {
  if (ok_) g_override.store(previous_);
}

RnnS8RowRequant MakeRnnS8RowRequant(const std::vector<Requant>& requant, const std::vector<std::int32_t>& bias,
                                    RequantMode mode) {
  RnnS8RowRequant out;
  out.rows = static_cast<Index>(requant.size());
  out.mode = mode;
  out.requant = requant;
  const std::size_t padded = static_cast<std::size_t>(RnnS8Padded(out.rows));
  for (auto* v : {&out.bias, &out.multiplier, &out.left, &out.sat_hi, &out.sat_lo, &out.right, &out.mask, &out.half,
                  &out.t})
    v->assign(padded, 0);
  out.scale.assign(padded, 0.0f);
  for (auto* v : {&out.mul64, &out.add64, &out.below64, &out.shift64}) v->assign(padded, 0);
  for (std::size_t r = 0; r < padded; ++r) {
    const bool real = r < requant.size();
    const Requant q = real ? requant[r] : Requant{};
    out.bias[r] = real ? bias[r] : 0;
    out.multiplier[r] = q.multiplier;
    const int left = std::max(q.shift, 0), right = std::max(-q.shift, 0);
    out.left[r] = left;
    out.any_left = out.any_left || left > 0;
    out.sat_hi[r] = std::numeric_limits<std::int32_t>::max() >> left;
    out.sat_lo[r] = std::numeric_limits<std::int32_t>::min() >> left;
    out.right[r] = right;
    out.mask[r] = static_cast<std::int32_t>((std::int64_t{1} << right) - 1);
    out.half[r] = out.mask[r] >> 1;
    out.t[r] = 31 - q.shift;
    out.scale[r] = q.scale;
    // The 64-bit lane of row r in its 16-row block (see recurrent_s8.h).
    const std::size_t lane = r / 16 * 16 + (r % 2) * 8 + (r % 16) / 2;
    out.mul64[lane] = q.multiplier;
    if (mode == RequantMode::kSingle) {
      out.add64[lane] = std::int64_t{1} << (out.t[r] - 1);
      out.below64[lane] = std::numeric_limits<std::int64_t>::min();
      out.shift64[lane] = out.t[r];
    } else {
      out.add64[lane] = (std::int64_t{1} << 30) + (right > 0 ? std::int64_t{1} << (30 + right) : 0);
      out.below64[lane] = right > 0 ? -(std::int64_t{1} << 30) : std::numeric_limits<std::int64_t>::min();
      out.shift64[lane] = 31 + right;
    }
  }
  return out;
}

}  // namespace detail

namespace {

// The G*H rows of a gate matrix as the columns of a dense layer with zero point 0.
PackedS8Weights PackGateMatrix(Index rows, Index k, const std::int8_t* w) {
  PreparedDenseS8 d;
  d.shape.batch = 1;
  d.shape.in_features = static_cast<int>(k);
  d.shape.out_features = static_cast<int>(rows);
  d.input_zero_point = 0;
  return PackDenseS8Weights(d, w);
}

PackedRnnS8 PackRnn(const RnnParams& s, int gates, const std::int8_t* w_x, const std::int8_t* w_h,
                    const std::vector<Requant>& rx, const std::vector<std::int32_t>& bx,
                    const std::vector<Requant>& rh, const std::vector<std::int32_t>& bh, RequantMode mode) {
  const Index G = static_cast<Index>(gates) * s.hidden_size;
  PackedRnnS8 out;
  out.w_x = PackGateMatrix(G, s.input_size, w_x);
  out.w_h = PackGateMatrix(G, s.hidden_size, w_h);
  out.rq_x = detail::MakeRnnS8RowRequant(rx, bx, mode);
  out.rq_h = detail::MakeRnnS8RowRequant(rh, bh, mode);
  return out;
}

// Rows of the input product per GEMM call, about (a batch larger than this
// makes blocks of one step: B rows).
constexpr Index kChunkRows = 64;

Index Round32(Index n) { return (n + 31) / 32 * 32; }  // int16 units: 64 bytes

// Where everything lives in the scratch (int16 units from the 64-byte aligned base).
struct Layout {
  Index G = 0, Gp = 0, Hp = 0, lda_x = 0, lda_h = 0, chunk = 0, tb = 0;
  Index a_x = 0, acc_x = 0, ax = 0, a_h = 0, acc_h = 0, work = 0, state = 0, h = 0, total = 0;
};

Layout MakeLayout(const RnnParams& s, int gates) {
  Layout l;
  const Index B = s.batch, T = s.seq_len, I = s.input_size, H = s.hidden_size;
  l.G = gates * H;
  l.Gp = detail::RnnS8Padded(l.G);
  l.Hp = detail::RnnS8Padded(H);
  // int16 rows of k + (k & 1); a u8 row of (k + 3) / 4 * 4 bytes fits in it (int8_rows.h).
  l.lda_x = fast::internal_s8::RowLength(detail::S8Operands::kS16, I);
  l.lda_h = fast::internal_s8::RowLength(detail::S8Operands::kS16, H);
  // Steps per block, and the rows the block buffers hold: min(max(64, B), B*T)
  // >= tb * B, and non-decreasing in B and T, so that scratch sized for a
  // shape covers every smaller batch and sequence (the carve below uses the
  // call's own shape).
  l.tb = std::min(T, std::max<Index>(1, kChunkRows / B));
  l.chunk = std::min(std::max(kChunkRows, B), B * T);
  Index at = 0;
  auto take = [&](Index n) {
    const Index o = at;
    at += Round32(n);
    return o;
  };
  l.a_x = take(l.chunk * l.lda_x);
  l.acc_x = take(2 * l.chunk * l.Gp);
  l.ax = take(l.chunk * l.Gp + detail::kRnnS8RowPad);  // the GRU step reads up to 31 past its n rows
  l.a_h = take(B * l.lda_h);
  l.acc_h = take(2 * B * l.Gp);
  l.work = take(2 * l.Gp + detail::kRnnS8RowPad);
  l.state = take(B * l.Hp);
  l.h = take(B * l.Hp);  // int8, one int16 each (generous, simple)
  l.total = at + 32;     // room to align the base
  return l;
}

std::int16_t* AlignBase(std::int16_t* scratch) {
  const auto a = reinterpret_cast<std::uintptr_t>(scratch);
  return reinterpret_cast<std::int16_t*>((a + 63) / 64 * 64);
}

// acc[m][ldacc] = the exact sum_k w[c][k] * v_i[k] of m rows of int8 v_i =
// src(i), through the dispatched GEMM in raw mode; `a` is the operand buffer.
template <typename RowOf>
void GemmRaw(const detail::Int8GemmVariant& v, const PackedS8Weights& w, const RowOf& src, Index m, Index k,
             std::int16_t* a, std::int32_t* acc, Index ldacc) {
  namespace is8 = fast::internal_s8;
  const Index lda = is8::RowLength(v.operands, k);
  if (v.operands == detail::S8Operands::kU8S8) {
    QUALM_DCHECK(w.k_padded4 == lda && w.zp_in == 0 && !w.data_u8s8.empty());
    auto* a8 = reinterpret_cast<std::uint8_t*>(a);
    const is8::U8Operand op(0);
    for (Index i = 0; i < m; ++i) {
      op.Convert(src(i), k, a8 + i * lda);
      std::fill(a8 + i * lda + k, a8 + (i + 1) * lda, std::uint8_t{128});  // weights past K are zero anyway
    }
    detail::U8S8GemmTile t;
    t.a = a8, t.lda = lda, t.m = static_cast<int>(m);
    t.b = w.data_u8s8.data(), t.col_offset = w.col_offset.data();
    t.n = w.n, t.k_padded = static_cast<int>(lda);
    t.y32 = acc, t.ldy = ldacc;
    v.gemm_u8s8(t);
  } else {
    QUALM_DCHECK(w.k_padded == lda);
    const is8::S16Operand op{0};
    for (Index i = 0; i < m; ++i) {
      op.Convert(src(i), k, a + i * lda);
      std::fill(a + i * lda + k, a + (i + 1) * lda, std::int16_t{0});
    }
    detail::S8GemmTile t;
    t.a = a, t.lda = lda, t.m = static_cast<int>(m);
    t.b = w.data.data();
    t.n = w.n, t.k_padded = static_cast<int>(lda);
    t.y32 = acc, t.ldy = ldacc;
    v.gemm(t);
  }
}

struct Buffers {
  std::int16_t* a_x;
  std::int32_t* acc_x;
  std::int16_t* ax;
  std::int16_t* a_h;
  std::int32_t* acc_h;
  std::int16_t* work;
  std::int16_t* state;
  std::int8_t* h;
};

Buffers Carve(const Layout& l, std::int16_t* scratch) {
  std::int16_t* base = AlignBase(scratch);
  return {base + l.a_x,
          reinterpret_cast<std::int32_t*>(base + l.acc_x),
          base + l.ax,
          base + l.a_h,
          reinterpret_cast<std::int32_t*>(base + l.acc_h),
          base + l.work,
          base + l.state,
          reinterpret_cast<std::int8_t*>(base + l.h)};
}

// Step 1 for the steps t0 .. t0 + nt - 1: ax[tt * B + b] = sat16(RQ(acc_x +
// bias_x)) of x[b][t0 + tt].
void InputBlock(const RnnParams& s, const Layout& l, const Buffers& buf, const PackedRnnS8& pk,
                const detail::Int8GemmVariant& gemm, const detail::RnnS8GatesVariant& gates, const std::int8_t* x,
                Index t0, Index nt) {
  const Index B = s.batch, T = s.seq_len, I = s.input_size, m = nt * B;
  QUALM_DCHECK(m <= l.chunk);
  const auto row_of = [&](Index i) { return x + ((i % B) * T + t0 + i / B) * I; };
  GemmRaw(gemm, pk.w_x, row_of, m, I, buf.a_x, buf.acc_x, l.Gp);
  for (Index i = 0; i < m; ++i) gates.requant_x(pk.rq_x, buf.acc_x + i * l.Gp, buf.ax + i * l.Gp);
}

// The driver: per block of steps, the input product (step 1); per step, the
// recurrent GEMM of the B rows of h, then `cell(row)` per batch row, then
// y[b][t] = h.
template <typename Cell>
void Recurrence(const RnnParams& s, const Layout& l, const Buffers& buf, const PackedRnnS8& pk,
                const detail::Int8GemmVariant& gemm, const detail::RnnS8GatesVariant& gates, const std::int8_t* x,
                std::int8_t* y, const Cell& cell) {
  const Index B = s.batch, T = s.seq_len, H = s.hidden_size;
  const auto h_row = [&](Index i) { return buf.h + i * l.Hp; };
  for (Index t = 0; t < T; ++t) {
    if (t % l.tb == 0) InputBlock(s, l, buf, pk, gemm, gates, x, t, std::min(l.tb, T - t));
    GemmRaw(gemm, pk.w_h, h_row, B, H, buf.a_h, buf.acc_h, l.Gp);
    for (Index b = 0; b < B; ++b) {
      detail::RnnS8StepRow row;
      row.ax = buf.ax + ((t % l.tb) * B + b) * l.Gp;
      row.acc_h = buf.acc_h + b * l.Gp;
      row.rq_h = &pk.rq_h;
      row.work = buf.work;
      row.state = buf.state + b * l.Hp;
      row.h = buf.h + b * l.Hp;
      cell(row);
      if (y) std::memcpy(y + (b * T + t) * H, row.h, static_cast<std::size_t>(H));
    }
  }
}

}  // namespace

PackedRnnS8 PackLstmS8Weights(const PreparedLstmS8& p, const LstmS8Weights& w) {
  return PackRnn(p.shape, 4, w.w_x, w.w_h, p.requant_x, p.bias_x, p.requant_h, p.bias_h, p.mode);
}

PackedRnnS8 PackGruS8Weights(const PreparedGruS8& p, const GruS8Weights& w) {
  return PackRnn(p.shape, 3, w.w_x, w.w_h, p.requant_x, p.bias_x, p.requant_h, p.bias_h, p.mode);
}

namespace fast {

std::size_t lstm_s8_scratch_int16(const RnnParams& p) { return static_cast<std::size_t>(MakeLayout(p, 4).total); }
std::size_t gru_s8_scratch_int16(const RnnParams& p) { return static_cast<std::size_t>(MakeLayout(p, 3).total); }

const char* RnnS8GatesPathName() { return detail::ActiveRnnS8GatesVariant().name; }

void lstm_s8(const PreparedLstmS8& p, const PackedRnnS8& pk, const LstmS8Io& io, std::int16_t* scratch) {
  const RnnParams& s = p.shape;
  QUALM_DCHECK(scratch != nullptr && io.x != nullptr && p.tanh_cell != nullptr);
  QUALM_DCHECK(pk.rq_x.rows == 4 * s.hidden_size && pk.w_x.k == s.input_size && pk.w_h.k == s.hidden_size);
  const Layout l = MakeLayout(s, 4);
  const Buffers buf = Carve(l, scratch);
  const detail::Int8GemmVariant& gemm = detail::ActiveInt8GemmVariant();
  const detail::RnnS8GatesVariant& gates = detail::ActiveRnnS8GatesVariant();
  const Index B = s.batch, H = s.hidden_size;
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < l.Hp; ++j) {
      const bool real = j < H;
      buf.h[b * l.Hp + j] = real && io.h0 ? io.h0[b * H + j] : static_cast<std::int8_t>(p.hidden_zero_point);
      buf.state[b * l.Hp + j] = real && io.c0 ? io.c0[b * H + j] : std::int16_t{0};
    }
  Recurrence(s, l, buf, pk, gemm, gates, io.x, io.y,
             [&](const detail::RnnS8StepRow& row) { gates.lstm_step(p, row); });
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < H; ++j) {
      if (io.h_n) io.h_n[b * H + j] = buf.h[b * l.Hp + j];
      if (io.c_n) io.c_n[b * H + j] = buf.state[b * l.Hp + j];
    }
}

void gru_s8(const PreparedGruS8& p, const PackedRnnS8& pk, const GruS8Io& io, std::int16_t* scratch) {
  const RnnParams& s = p.shape;
  QUALM_DCHECK(scratch != nullptr && io.x != nullptr);
  QUALM_DCHECK(pk.rq_x.rows == 3 * s.hidden_size && pk.w_x.k == s.input_size && pk.w_h.k == s.hidden_size);
  const Layout l = MakeLayout(s, 3);
  const Buffers buf = Carve(l, scratch);
  const detail::Int8GemmVariant& gemm = detail::ActiveInt8GemmVariant();
  const detail::RnnS8GatesVariant& gates = detail::ActiveRnnS8GatesVariant();
  const Index B = s.batch, H = s.hidden_size;
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < l.Hp; ++j) {
      const std::int16_t s0 = j < H && io.s0 ? io.s0[b * H + j] : std::int16_t{0};
      buf.state[b * l.Hp + j] = s0;
      buf.h[b * l.Hp + j] = static_cast<std::int8_t>(
          RequantizeToRange(s0, p.requant_out, p.mode, p.hidden_zero_point, -128, 127));
    }
  Recurrence(s, l, buf, pk, gemm, gates, io.x, io.y,
             [&](const detail::RnnS8StepRow& row) { gates.gru_step(p, row); });
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < H; ++j) {
      if (io.h_n) io.h_n[b * H + j] = buf.h[b * l.Hp + j];
      if (io.s_n) io.s_n[b * H + j] = buf.state[b * l.Hp + j];
    }
}

}  // namespace fast
}  // namespace qualm::kernels
