// Integer LSTM / GRU benchmarks (issue 11's shape: input 128, hidden 50, 200
// steps, batch 1 and 32): the frozen references ref::lstm_s8 / ref::gru_s8,
// the fast kernels fast::lstm_s8 / fast::gru_s8 under every int8 GEMM variant
// this machine runs (with the best gate stage) and every gate stage (with the
// best GEMM), and oneDNN's int8 LSTM (u8 activations, s8 weights, f32 bias;
// weights reordered to its packed format before the timed loop) and int8 GRU
// on the same shape in the same process when the build has oneDNN.
//
// Rows: lstm/s8_ref, lstm/s8_fast/<int8 gemm variant>/<gate variant>/...,
// lstm/onednn_s8, and the same for gru. Only the sequence y is written (no
// h_n / c_n), as the executor's models read y. Everything (operands, Prepare,
// packing, oneDNN primitives) is built before the timed loop. One thread:
// qualm's int8 kernels are single-threaded; run oneDNN with OMP_NUM_THREADS=1
// for the same footing (the context records the value). Counters: MAC/s with
// G*H*(I+H) MACs per sample and step (G = 4 LSTM, 3 GRU).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/recurrent_s8.h"

#if defined(QUALM_WITH_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;

namespace {

constexpr int kSeqLen = 200, kInput = 128, kHidden = 50;

std::vector<std::int8_t> RandomS8(std::size_t n, unsigned seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(d(rng));
  return v;
}

std::vector<std::int32_t> RandomBias(std::size_t n, unsigned seed, int bound) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-bound, bound);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<float> RowScales(int n, float base) {
  std::vector<float> s(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) s[static_cast<std::size_t>(c)] = base * (1.0f + 0.03125f * static_cast<float>(c % 17));
  return s;
}

// Operands as bench_int8_kernels.cpp: x at 1/128 (zero point -2), h at 2/255,
// weights about 1/1024 per row: pre-activations around +-0.5 in Q3.12.
struct Operands {
  int gates;
  qk::RnnParams shape;
  std::vector<std::int8_t> w_x, w_h, x;
  std::vector<std::int32_t> b_x, b_h;
  Operands(int batch, int g)
      : gates(g),
        shape{batch, kSeqLen, kInput, kHidden},
        w_x(RandomS8(std::size_t(g) * kHidden * kInput, 2, -127, 127)),
        w_h(RandomS8(std::size_t(g) * kHidden * kHidden, 3, -127, 127)),
        x(RandomS8(std::size_t(batch) * kSeqLen * kInput, 1, -128, 127)),
        b_x(RandomBias(std::size_t(g) * kHidden, 4, 1 << 10)),
        b_h(RandomBias(std::size_t(g) * kHidden, 5, 1 << 10)) {}
  double Macs() const {
    return static_cast<double>(shape.batch) * kSeqLen * gates * kHidden * (kInput + kHidden);
  }
};

constexpr qk::QuantParams kInputQuant{1.0f / 128, -2};
constexpr qk::QuantParams kHiddenQuant{2.0f / 255, 0};
constexpr float kWeightScale = 1.0f / 1024;

void SetRates(benchmark::State& state, const Operands& o) {
  state.counters["MAC/s"] = benchmark::Counter(o.Macs(), benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * o.shape.batch);
}

enum class Path { kRef, kFast };

// isa: the int8 GEMM variant to force; gates: the gate-stage variant's ISA.
void BM_Lstm(benchmark::State& state, Path path, qk::Isa isa, qk::Isa gates_isa) {
  const Operands o(static_cast<int>(state.range(0)), 4);
  qk::LstmS8Params p;
  p.shape = o.shape, p.input = kInputQuant, p.hidden = kHiddenQuant;
  p.w_x_scales = RowScales(4 * kHidden, kWeightScale);
  p.w_h_scales = RowScales(4 * kHidden, kWeightScale);
  const qk::LstmS8Weights w{o.w_x.data(), o.w_h.data(), o.b_x.data()};
  const auto prepared = qk::PrepareLstmS8(p, w);
  if (!prepared.ok()) return state.SkipWithError(prepared.status().ToString().c_str());
  std::vector<std::int8_t> y(std::size_t(o.shape.batch) * kSeqLen * kHidden);
  const qk::LstmS8Io io{.x = o.x.data(), .y = y.data()};
  if (path == Path::kRef) {
    std::vector<std::int16_t> scratch(qk::ref::lstm_s8_scratch_int16(o.shape));
    for (auto _ : state) {
      qk::ref::lstm_s8(*prepared, w, io, scratch.data());
      benchmark::ClobberMemory();
    }
  } else {
    qd::ScopedInt8GemmIsaForTesting gemm(isa);
    qd::ScopedRnnS8GatesIsaForTesting gates(gates_isa);
    if (!gemm.ok() || !gates.ok()) return state.SkipWithError("variant not runnable");
    const qk::PackedRnnS8 packed = qk::PackLstmS8Weights(*prepared, w);
    std::vector<std::int16_t> scratch(qk::fast::lstm_s8_scratch_int16(o.shape));
    state.SetLabel(std::string(qk::Int8GemmPathName()) + " + " + qk::fast::RnnS8GatesPathName());
    for (auto _ : state) {
      qk::fast::lstm_s8(*prepared, packed, io, scratch.data());
      benchmark::ClobberMemory();
    }
  }
  SetRates(state, o);
}

void BM_Gru(benchmark::State& state, Path path, qk::Isa isa, qk::Isa gates_isa) {
  const Operands o(static_cast<int>(state.range(0)), 3);
  qk::GruS8Params p;
  p.shape = o.shape, p.input = kInputQuant, p.hidden = kHiddenQuant;
  p.w_x_scales = RowScales(3 * kHidden, kWeightScale);
  p.w_h_scales = RowScales(3 * kHidden, kWeightScale);
  const qk::GruS8Weights w{o.w_x.data(), o.w_h.data(), o.b_x.data(), o.b_h.data()};
  const auto prepared = qk::PrepareGruS8(p, w);
  if (!prepared.ok()) return state.SkipWithError(prepared.status().ToString().c_str());
  std::vector<std::int8_t> y(std::size_t(o.shape.batch) * kSeqLen * kHidden);
  const qk::GruS8Io io{.x = o.x.data(), .y = y.data()};
  if (path == Path::kRef) {
    std::vector<std::int16_t> scratch(qk::ref::gru_s8_scratch_int16(o.shape));
    for (auto _ : state) {
      qk::ref::gru_s8(*prepared, w, io, scratch.data());
      benchmark::ClobberMemory();
    }
  } else {
    qd::ScopedInt8GemmIsaForTesting gemm(isa);
    qd::ScopedRnnS8GatesIsaForTesting gates(gates_isa);
    if (!gemm.ok() || !gates.ok()) return state.SkipWithError("variant not runnable");
    const qk::PackedRnnS8 packed = qk::PackGruS8Weights(*prepared, w);
    std::vector<std::int16_t> scratch(qk::fast::gru_s8_scratch_int16(o.shape));
    state.SetLabel(std::string(qk::Int8GemmPathName()) + " + " + qk::fast::RnnS8GatesPathName());
    for (auto _ : state) {
      qk::fast::gru_s8(*prepared, packed, io, scratch.data());
      benchmark::ClobberMemory();
    }
  }
  SetRates(state, o);
}

#if defined(QUALM_WITH_ONEDNN)
// oneDNN's int8 RNN inference: u8 src_layer / dst_layer with one scale and
// shift for all data (set_rnn_data_qparams), s8 weights with per-output scales
// (mask over g and o), f32 bias; zero initial states, no final states.
// `gru`: oneDNN 2.6 has no int8 linear-before-reset GRU (qualm's
// formulation), so the peer row is its plain int8 GRU (reset before the
// recurrent product): the same GEMM sizes, one more elementwise product.
void BM_OneDnn(benchmark::State& state, bool gru) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const int B = static_cast<int>(state.range(0)), G = gru ? 3 : 4;
  const Operands o(B, G);
  try {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const memory::dims src_dims = {kSeqLen, B, kInput}, dst_dims = {kSeqLen, B, kHidden};
    const memory::dims wl_dims = {1, 1, kInput, G, kHidden}, wi_dims = {1, 1, kHidden, G, kHidden};
    const memory::dims bias_dims = {1, 1, G, kHidden};
    const memory::desc src_md(src_dims, dt::u8, tag::tnc), dst_md(dst_dims, dt::u8, tag::tnc);
    const memory::desc wl_any(wl_dims, dt::s8, tag::any), wi_any(wi_dims, dt::s8, tag::any);
    const memory::desc bias_md(bias_dims, dt::f32, tag::ldgo);
    primitive_attr attr;
    attr.set_rnn_data_qparams(128.0f, 128.0f);
    attr.set_rnn_weights_qparams(0b11000, std::vector<float>(static_cast<std::size_t>(G * kHidden), 1024.0f));
    memory::desc wl_md, wi_md;
    primitive prim;
    if (gru) {
      gru_forward::desc d(prop_kind::forward_inference, rnn_direction::unidirectional_left2right, src_md,
                          memory::desc(), wl_any, wi_any, bias_md, dst_md, memory::desc());
      gru_forward::primitive_desc pd(d, attr, eng);
      wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
      prim = gru_forward(pd);
    } else {
      lstm_forward::desc d(prop_kind::forward_inference, rnn_direction::unidirectional_left2right, src_md,
                           memory::desc(), memory::desc(), wl_any, wi_any, bias_md, dst_md, memory::desc(),
                           memory::desc());
      lstm_forward::primitive_desc pd(d, attr, eng);
      wl_md = pd.weights_layer_desc(), wi_md = pd.weights_iter_desc();
      prim = lstm_forward(pd);
    }
    // f32 weights (the int8 values / 1024) reordered into oneDNN's packed s8 format with the same attr.
    auto to_f32 = [](const std::vector<std::int8_t>& v) {
      std::vector<float> f(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) f[i] = static_cast<float>(v[i]) / 1024.0f;
      return f;
    };
    std::vector<float> wl_f = to_f32(o.w_x), wi_f = to_f32(o.w_h);
    std::vector<float> bias_f(static_cast<std::size_t>(G * kHidden), 0.01f);
    memory wl_user({wl_dims, dt::f32, tag::ldigo}, eng, wl_f.data());
    memory wi_user({wi_dims, dt::f32, tag::ldigo}, eng, wi_f.data());
    memory wl(wl_md, eng), wi(wi_md, eng), bias(bias_md, eng, bias_f.data());
    reorder(reorder::primitive_desc(wl_user, wl, attr)).execute(s, wl_user, wl);
    reorder(reorder::primitive_desc(wi_user, wi, attr)).execute(s, wi_user, wi);
    std::vector<std::uint8_t> x(o.x.size()), y(std::size_t(B) * kSeqLen * kHidden);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(o.x[i] + 128);
    memory src(src_md, eng, x.data()), dst(dst_md, eng, y.data());
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, wl},
                                            {DNNL_ARG_WEIGHTS_ITER, wi}, {DNNL_ARG_BIAS, bias},
                                            {DNNL_ARG_DST_LAYER, dst}};
    prim.execute(s, args);  // warm-up (first-call setup)
    s.wait();
    for (auto _ : state) {
      prim.execute(s, args);
      s.wait();
    }
    SetRates(state, o);
  } catch (const dnnl::error& e) {
    state.SkipWithError((std::string("oneDNN: ") + e.what()).c_str());
  }
}
#endif

void Register(const std::string& name, void (*fn)(benchmark::State&, Path, qk::Isa, qk::Isa), Path path,
              qk::Isa isa, qk::Isa gates_isa) {
  benchmark::RegisterBenchmark(name.c_str(), fn, path, isa, gates_isa)
      ->Unit(benchmark::kMillisecond)->ArgName("batch")->Arg(1)->Arg(32);
}

void RegisterAll() {
  struct Op {
    const char* name;
    void (*fn)(benchmark::State&, Path, qk::Isa, qk::Isa);
    bool gru;
  };
  for (const Op& op : {Op{"lstm", &BM_Lstm, false}, Op{"gru", &BM_Gru, true}}) {
    const std::string shape = "/t200_i128_h50";
    Register(std::string(op.name) + "/s8_ref" + shape, op.fn, Path::kRef, qk::Isa::kScalar, qk::Isa::kScalar);
    // Every int8 GEMM variant with the best gate stage, then every other gate
    // stage with the best GEMM.
    const auto gemms = qd::RunnableInt8GemmVariants();
    std::vector<qd::RnnS8GatesVariant> gates;
    for (const auto& g : qd::RnnS8GatesVariants())
      if (qk::IsaAvailable(g.isa)) gates.push_back(g);
    for (const auto& v : gemms)
      Register(std::string(op.name) + "/s8_fast/" + v.name + "/" + gates[0].name + shape, op.fn, Path::kFast, v.isa,
               gates[0].isa);
    for (std::size_t i = 1; i < gates.size(); ++i)
      Register(std::string(op.name) + "/s8_fast/" + gemms[0].name + "/" + gates[i].name + shape, op.fn, Path::kFast,
               gemms[0].isa, gates[i].isa);
#if defined(QUALM_WITH_ONEDNN)
    benchmark::RegisterBenchmark((std::string(op.name) + "/onednn_s8" + shape).c_str(), BM_OneDnn, op.gru)
        ->Unit(benchmark::kMillisecond)->ArgName("batch")->Arg(1)->Arg(32);
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("qualm_cpu", qk::DescribeCpu());
  benchmark::AddCustomContext("qualm_int8_gemm_path", qk::Int8GemmPathName());
  benchmark::AddCustomContext("qualm_rnn_s8_gates_path", qk::fast::RnnS8GatesPathName());
  const char* omp = std::getenv("OMP_NUM_THREADS");
  benchmark::AddCustomContext("omp_num_threads", omp ? omp : "unset");
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
