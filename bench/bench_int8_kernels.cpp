// Int8 inference benchmarks on the study's real shapes: the integer reference
// kernels (Prepare*S8, then ref::*_s8), the fast int8 conv2d / dense under every
// int8 GEMM variant this machine runs (fast::*_s8; rows named
// `conv2d/s8_fast/<variant>/...`, forced with the test hook of
// detail/int8_gemm_variants.h, packing outside the timed loop), the hybrid kernels of the `dynamic`
// scheme (reference, and fast under every int8 GEMM variant: `conv2d/hybrid_fast/<variant>/...`), and whole-model forward passes (int8 executor, dynamic scheme, float
// executor on the reference and fast backends) in the same run, so the rates
// can be compared on one machine.
//
// Shapes (per sample; batch 1 and 64 as the benchmark argument):
//   LeNet-5   conv1 28x28x1 -> 6 (5x5, pad 2), conv2 14x14x6 -> 16 (5x5),
//             fc1 400 -> 120, fc2 120 -> 84, fc3 84 -> 10
//   ResNet-20 on the study's 28x28x1 inputs (zoo.h), i.e. 28x28x16, 14x14x32 and
//             7x7x64 3x3 convs (the CIFAR 32/16/8 grid shifted to Fashion-MNIST),
//             the 3x3 stride-2 convs and 1x1 stride-2 projections that open
//             stages 2 and 3, the stem, and the 64 -> 10 head
//   LSTM      embedding 128 -> hidden 50, GRU 128 -> 75, seq_len 200
//   Models    zoo lenet5 and resnet20 (input {28,28,1}), lstm and gru (input
//             {200}, vocab 20000, 2 classes)
//
// Rates: "MAC/s" counts one per multiply-add of the op's definition (padding
// taps included for conv, as bench_float_kernels does; its FLOP/s is 2 x MAC/s);
// items_per_second counts samples. Models count the MACs of their conv, dense
// and recurrent layers. LSTM 4H(I+H) and GRU 3H(I+H) MACs per sample and step.
// Everything here runs on one thread (the int8 and hybrid kernels are
// given 1 thread; the float executor is given 1 thread), so times are CPU
// time, which stays meaningful on a shared machine, and rates are per core.
// The dynamic model runs on the fast backend: its conv / dense layers on the
// fast hybrid kernels, the rest on the fast float kernels; labels give each path.
//
// Everything a benchmark needs (random seeded operands, Prepare, executors,
// quantized models) is built before its timed loop; the timed loop runs the
// kernel or Forward only. Int8 operands: activations uniform over [-128, 127]
// with a non-zero input zero point, weights uniform over [-127, 127] (narrow
// range, as Prepare requires), per-channel weight scales, and an output scale
// chosen so the outputs spread over the int8 range instead of saturating.
// The context records the CPU and the float and int8 GEMM paths the
// dispatchers chose (qualm_cpu, qualm_gemm_path, qualm_int8_gemm_path).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/model.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/recurrent_hybrid.h"
#include "qualm/kernels/recurrent_s8.h"

namespace qk = qualm::kernels;

namespace {

// ---------------------------------------------------------------------------
// Seeded operands.

std::vector<float> RandomF32(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<std::int8_t> RandomS8(std::size_t n, unsigned seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(d(rng));
  return v;
}
std::vector<std::int8_t> RandomWeights(std::size_t n, unsigned seed) { return RandomS8(n, seed, -127, 127); }
std::vector<std::int8_t> RandomActivations(std::size_t n, unsigned seed) { return RandomS8(n, seed, -128, 127); }

std::vector<std::int32_t> RandomBias(std::size_t n, unsigned seed, int bound) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-bound, bound);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Per-channel weight scales around `base` (distinct, so every channel has its
// own multiplier as in a real model).
std::vector<float> ChannelScales(int n, float base) {
  std::vector<float> s(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) s[static_cast<std::size_t>(c)] = base * (1.0f + 0.03125f * static_cast<float>(c % 17));
  return s;
}

// Activation quantization of the int8 conv/dense benchmarks: x has scale
// 1/64 and zero point -3. For uniform x and w, acc has a standard deviation of
// about sqrt(K) * 73 * 74; an output scale of s_in * s_w * sqrt(K) * 135 puts
// that at about 40 output steps, so outputs spread without saturating.
constexpr qk::QuantParams kInputQuant{1.0f / 64, -3};
constexpr float kWeightScale = 1.0f / 512;
qk::QuantParams OutputQuant(int k) {
  return {kInputQuant.scale * kWeightScale * std::sqrt(static_cast<float>(k)) * 135.0f, 5};
}

// The float/int8 byte buffers of the hybrid kernels must be aligned for float.
struct FloatScratch {
  std::vector<float> storage;
  explicit FloatScratch(std::size_t bytes) : storage(bytes / sizeof(float) + 1) {}
  void* get() { return storage.data(); }
};

void SetRates(benchmark::State& state, double macs_per_iter, double samples_per_iter) {
  state.counters["MAC/s"] = benchmark::Counter(macs_per_iter, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * samples_per_iter));
}

template <class T>
bool Prepared(benchmark::State& state, const qualm::Result<T>& r) {
  if (r.ok()) return true;
  state.SkipWithError(r.status().ToString().c_str());
  return false;
}

// ---------------------------------------------------------------------------
// Conv2d and dense: int8 reference and hybrid.

struct ConvShape {
  const char* name;
  int h, w, ic, oc, k, stride, pad;
};
const ConvShape kConvShapes[] = {
    {"lenet5/conv1_28x28x1_6_5x5p2", 28, 28, 1, 6, 5, 1, 2},
    {"lenet5/conv2_14x14x6_16_5x5", 14, 14, 6, 16, 5, 1, 0},
    {"resnet20/stem_28x28x1_16", 28, 28, 1, 16, 3, 1, 1},
    {"resnet20/s1_28x28x16_16", 28, 28, 16, 16, 3, 1, 1},
    {"resnet20/s2down_28x28x16_32_s2", 28, 28, 16, 32, 3, 2, 1},
    {"resnet20/s2proj_1x1_16_32_s2", 28, 28, 16, 32, 1, 2, 0},
    {"resnet20/s2_14x14x32_32", 14, 14, 32, 32, 3, 1, 1},
    {"resnet20/s3down_14x14x32_64_s2", 14, 14, 32, 64, 3, 2, 1},
    {"resnet20/s3proj_1x1_32_64_s2", 14, 14, 32, 64, 1, 2, 0},
    {"resnet20/s3_7x7x64_64", 7, 7, 64, 64, 3, 1, 1},
};

qk::Conv2dParams ToParams(const ConvShape& s, int batch) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = s.h, p.in_w = s.w, p.in_c = s.ic, p.out_c = s.oc;
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
  return p;
}

int ConvK(const qk::Conv2dParams& p) { return p.kernel_h * p.kernel_w * (p.in_c / p.groups); }
double ConvMacs(const qk::Conv2dParams& p) {
  return static_cast<double>(p.batch) * p.out_h() * p.out_w() * p.out_c * ConvK(p);
}
std::size_t InElements(const qk::Conv2dParams& p) { return std::size_t(p.batch) * p.in_h * p.in_w * p.in_c; }
std::size_t OutElements(const qk::Conv2dParams& p) { return std::size_t(p.batch) * p.out_h() * p.out_w() * p.out_c; }

void BM_Conv2dS8(benchmark::State& state, ConvShape s) {
  const qk::Conv2dParams shape = ToParams(s, static_cast<int>(state.range(0)));
  const auto w = RandomWeights(std::size_t(s.oc) * ConvK(shape), 2);
  const auto bias = RandomBias(std::size_t(s.oc), 3, 1 << 14);
  const auto x = RandomActivations(InElements(shape), 1);
  std::vector<std::int8_t> y(OutElements(shape));
  qk::Conv2dS8Params p;
  p.shape = shape, p.input = kInputQuant, p.output.params = OutputQuant(ConvK(shape));
  p.weight_scales = ChannelScales(s.oc, kWeightScale);
  const auto prepared = qk::PrepareConv2dS8(p, w.data(), bias.data());
  if (!Prepared(state, prepared)) return;
  for (auto _ : state) {
    qk::ref::conv2d_s8(*prepared, x.data(), w.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, ConvMacs(shape), shape.batch);
}

// The fast kernel under the int8 GEMM variant for `isa` (one thread).
void BM_Conv2dS8Fast(benchmark::State& state, ConvShape s, qk::Isa isa) {
  qk::detail::ScopedInt8GemmIsaForTesting variant(isa);
  if (!variant.ok()) return state.SkipWithError("int8 GEMM variant not available");
  const qk::Conv2dParams shape = ToParams(s, static_cast<int>(state.range(0)));
  const auto w = RandomWeights(std::size_t(s.oc) * ConvK(shape), 2);
  const auto bias = RandomBias(std::size_t(s.oc), 3, 1 << 14);
  const auto x = RandomActivations(InElements(shape), 1);
  std::vector<std::int8_t> y(OutElements(shape));
  qk::Conv2dS8Params p;
  p.shape = shape, p.input = kInputQuant, p.output.params = OutputQuant(ConvK(shape));
  p.weight_scales = ChannelScales(s.oc, kWeightScale);
  const auto prepared = qk::PrepareConv2dS8(p, w.data(), bias.data());
  if (!Prepared(state, prepared)) return;
  const qk::PackedS8Weights packed = qk::PackConv2dS8Weights(*prepared, w.data());
  std::vector<std::int16_t> scratch(qk::fast::conv2d_s8_scratch_int16(*prepared, 1) + 1);
  const qk::KernelContextS8 ctx{1, scratch.data(), scratch.size()};
  state.SetLabel(qk::Int8GemmPathName());
  for (auto _ : state) {
    qk::fast::conv2d_s8(ctx, *prepared, packed, x.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, ConvMacs(shape), shape.batch);
}

void BM_Conv2dHybrid(benchmark::State& state, ConvShape s) {
  const qk::Conv2dParams shape = ToParams(s, static_cast<int>(state.range(0)));
  const auto w = RandomWeights(std::size_t(s.oc) * ConvK(shape), 2);
  const auto bias = RandomF32(std::size_t(s.oc), 3);
  const auto x = RandomF32(InElements(shape), 1);
  std::vector<float> y(OutElements(shape));
  FloatScratch scratch(qk::ref::conv2d_hybrid_scratch_bytes(shape));
  const auto prepared = qk::PrepareConv2dHybrid({shape, ChannelScales(s.oc, kWeightScale)}, w.data());
  if (!Prepared(state, prepared)) return;
  for (auto _ : state) {
    qk::ref::conv2d_hybrid(*prepared, x.data(), w.data(), bias.data(), y.data(), scratch.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, ConvMacs(shape), shape.batch);
}

// The fast hybrid kernel under the int8 GEMM variant for `isa` (one thread;
// packing outside the timed loop, like the engine's prepare).
void BM_Conv2dHybridFast(benchmark::State& state, ConvShape s, qk::Isa isa) {
  qk::detail::ScopedInt8GemmIsaForTesting variant(isa);
  if (!variant.ok()) return state.SkipWithError("int8 GEMM variant not available");
  const qk::Conv2dParams shape = ToParams(s, static_cast<int>(state.range(0)));
  const auto w = RandomWeights(std::size_t(s.oc) * ConvK(shape), 2);
  const auto bias = RandomF32(std::size_t(s.oc), 3);
  const auto x = RandomF32(InElements(shape), 1);
  std::vector<float> y(OutElements(shape));
  const auto prepared = qk::PrepareConv2dHybrid({shape, ChannelScales(s.oc, kWeightScale)}, w.data());
  if (!Prepared(state, prepared)) return;
  const qk::PackedHybridWeights packed = qk::PackConv2dHybridWeights(*prepared, w.data());
  std::vector<float> scratch(qk::fast::conv2d_hybrid_scratch_floats(*prepared, 1));
  const qk::KernelContext ctx{1, scratch.data(), scratch.size()};
  state.SetLabel(qk::Int8GemmPathName());
  for (auto _ : state) {
    qk::fast::conv2d_hybrid(ctx, *prepared, packed, x.data(), w.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, ConvMacs(shape), shape.batch);
}

struct DenseShape {
  const char* name;
  int in, out;
};
const DenseShape kDenseShapes[] = {
    {"lenet5/fc1_400_120", 400, 120},
    {"lenet5/fc2_120_84", 120, 84},
    {"lenet5/fc3_84_10", 84, 10},
    {"resnet20/fc_64_10", 64, 10},
};

void BM_DenseS8(benchmark::State& state, DenseShape s) {
  const qk::DenseParams shape{static_cast<int>(state.range(0)), s.in, s.out};
  const auto w = RandomWeights(std::size_t(s.out) * s.in, 2);
  const auto bias = RandomBias(std::size_t(s.out), 3, 1 << 14);
  const auto x = RandomActivations(std::size_t(shape.batch) * s.in, 1);
  std::vector<std::int8_t> y(std::size_t(shape.batch) * s.out);
  qk::DenseS8Params p;
  p.shape = shape, p.input = kInputQuant, p.output.params = OutputQuant(s.in);
  p.weight_scales = ChannelScales(s.out, kWeightScale);
  const auto prepared = qk::PrepareDenseS8(p, w.data(), bias.data());
  if (!Prepared(state, prepared)) return;
  for (auto _ : state) {
    qk::ref::dense_s8(*prepared, x.data(), w.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, double(shape.batch) * s.in * s.out, shape.batch);
}

void BM_DenseS8Fast(benchmark::State& state, DenseShape s, qk::Isa isa) {
  qk::detail::ScopedInt8GemmIsaForTesting variant(isa);
  if (!variant.ok()) return state.SkipWithError("int8 GEMM variant not available");
  const qk::DenseParams shape{static_cast<int>(state.range(0)), s.in, s.out};
  const auto w = RandomWeights(std::size_t(s.out) * s.in, 2);
  const auto bias = RandomBias(std::size_t(s.out), 3, 1 << 14);
  const auto x = RandomActivations(std::size_t(shape.batch) * s.in, 1);
  std::vector<std::int8_t> y(std::size_t(shape.batch) * s.out);
  qk::DenseS8Params p;
  p.shape = shape, p.input = kInputQuant, p.output.params = OutputQuant(s.in);
  p.weight_scales = ChannelScales(s.out, kWeightScale);
  const auto prepared = qk::PrepareDenseS8(p, w.data(), bias.data());
  if (!Prepared(state, prepared)) return;
  const qk::PackedS8Weights packed = qk::PackDenseS8Weights(*prepared, w.data());
  std::vector<std::int16_t> scratch(qk::fast::dense_s8_scratch_int16(*prepared, 1) + 1);
  const qk::KernelContextS8 ctx{1, scratch.data(), scratch.size()};
  state.SetLabel(qk::Int8GemmPathName());
  for (auto _ : state) {
    qk::fast::dense_s8(ctx, *prepared, packed, x.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, double(shape.batch) * s.in * s.out, shape.batch);
}

void BM_DenseHybrid(benchmark::State& state, DenseShape s) {
  const qk::DenseParams shape{static_cast<int>(state.range(0)), s.in, s.out};
  const auto w = RandomWeights(std::size_t(s.out) * s.in, 2);
  const auto bias = RandomF32(std::size_t(s.out), 3);
  const auto x = RandomF32(std::size_t(shape.batch) * s.in, 1);
  std::vector<float> y(std::size_t(shape.batch) * s.out);
  FloatScratch scratch(qk::ref::dense_hybrid_scratch_bytes(shape));
  const auto prepared = qk::PrepareDenseHybrid({shape, ChannelScales(s.out, kWeightScale)}, w.data());
  if (!Prepared(state, prepared)) return;
  for (auto _ : state) {
    qk::ref::dense_hybrid(*prepared, x.data(), w.data(), bias.data(), y.data(), scratch.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, double(shape.batch) * s.in * s.out, shape.batch);
}

void BM_DenseHybridFast(benchmark::State& state, DenseShape s, qk::Isa isa) {
  qk::detail::ScopedInt8GemmIsaForTesting variant(isa);
  if (!variant.ok()) return state.SkipWithError("int8 GEMM variant not available");
  const qk::DenseParams shape{static_cast<int>(state.range(0)), s.in, s.out};
  const auto w = RandomWeights(std::size_t(s.out) * s.in, 2);
  const auto bias = RandomF32(std::size_t(s.out), 3);
  const auto x = RandomF32(std::size_t(shape.batch) * s.in, 1);
  std::vector<float> y(std::size_t(shape.batch) * s.out);
  const auto prepared = qk::PrepareDenseHybrid({shape, ChannelScales(s.out, kWeightScale)}, w.data());
  if (!Prepared(state, prepared)) return;
  const qk::PackedHybridWeights packed = qk::PackDenseHybridWeights(*prepared, w.data());
  std::vector<float> scratch(qk::fast::dense_hybrid_scratch_floats(*prepared, 1));
  const qk::KernelContext ctx{1, scratch.data(), scratch.size()};
  state.SetLabel(qk::Int8GemmPathName());
  for (auto _ : state) {
    qk::fast::dense_hybrid(ctx, *prepared, packed, x.data(), w.data(), bias.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, double(shape.batch) * s.in * s.out, shape.batch);
}

// ---------------------------------------------------------------------------
// LSTM (I 128, H 50) and GRU (I 128, H 75) over 200 steps: int8 reference and
// hybrid. Only the whole sequence y is written (h_n and c_n not wanted), as the
// executor's last-hidden-state models read y's last step.
//
// Int8 operands: x at 1/128 (zero point -2, the embedding table's range), h at
// 2/255 (the (-1, 1) range BuildInt8Spec gives every hidden state), weights at
// about 1/1024 per row (the recurrent init's +-1/sqrt(H) range is +-0.14), so
// the pre-activations lie around +-0.5 in Q3.12.

constexpr int kSeqLen = 200, kEmbed = 128, kLstmHidden = 50, kGruHidden = 75;

double RnnMacs(const qk::RnnParams& p, int gates) {
  return static_cast<double>(p.batch) * p.seq_len * gates * p.hidden_size * (p.input_size + p.hidden_size);
}

struct RnnOperands {
  qk::RnnParams shape;
  std::vector<std::int8_t> w_x, w_h, x;
  std::vector<std::int32_t> b_x, b_h;
  RnnOperands(int batch, int hidden, int gates)
      : shape{batch, kSeqLen, kEmbed, hidden},
        w_x(RandomWeights(std::size_t(gates) * hidden * kEmbed, 2)),
        w_h(RandomWeights(std::size_t(gates) * hidden * hidden, 3)),
        x(RandomActivations(std::size_t(batch) * kSeqLen * kEmbed, 1)),
        b_x(RandomBias(std::size_t(gates) * hidden, 4, 1 << 10)),
        b_h(RandomBias(std::size_t(gates) * hidden, 5, 1 << 10)) {}
};

constexpr qk::QuantParams kRnnInputQuant{1.0f / 128, -2};
constexpr qk::QuantParams kRnnHiddenQuant{2.0f / 255, 0};
constexpr float kRnnWeightScale = 1.0f / 1024;

void BM_LstmS8(benchmark::State& state) {
  const RnnOperands o(static_cast<int>(state.range(0)), kLstmHidden, 4);
  qk::LstmS8Params p;
  p.shape = o.shape, p.input = kRnnInputQuant, p.hidden = kRnnHiddenQuant;
  p.w_x_scales = ChannelScales(4 * kLstmHidden, kRnnWeightScale);
  p.w_h_scales = ChannelScales(4 * kLstmHidden, kRnnWeightScale);
  const qk::LstmS8Weights w{o.w_x.data(), o.w_h.data(), o.b_x.data()};
  const auto prepared = qk::PrepareLstmS8(p, w);
  if (!Prepared(state, prepared)) return;
  std::vector<std::int8_t> y(std::size_t(o.shape.batch) * kSeqLen * kLstmHidden);
  std::vector<std::int16_t> scratch(qk::ref::lstm_s8_scratch_int16(o.shape));
  for (auto _ : state) {
    qk::ref::lstm_s8(*prepared, w, {.x = o.x.data(), .y = y.data()}, scratch.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, RnnMacs(o.shape, 4), o.shape.batch);
}

void BM_GruS8(benchmark::State& state) {
  const RnnOperands o(static_cast<int>(state.range(0)), kGruHidden, 3);
  qk::GruS8Params p;
  p.shape = o.shape, p.input = kRnnInputQuant, p.hidden = kRnnHiddenQuant;
  p.w_x_scales = ChannelScales(3 * kGruHidden, kRnnWeightScale);
  p.w_h_scales = ChannelScales(3 * kGruHidden, kRnnWeightScale);
  const qk::GruS8Weights w{o.w_x.data(), o.w_h.data(), o.b_x.data(), o.b_h.data()};
  const auto prepared = qk::PrepareGruS8(p, w);
  if (!Prepared(state, prepared)) return;
  std::vector<std::int8_t> y(std::size_t(o.shape.batch) * kSeqLen * kGruHidden);
  std::vector<std::int16_t> scratch(qk::ref::gru_s8_scratch_int16(o.shape));
  for (auto _ : state) {
    qk::ref::gru_s8(*prepared, w, {.x = o.x.data(), .y = y.data()}, scratch.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, RnnMacs(o.shape, 3), o.shape.batch);
}

// Hybrid operands: float x uniform in [-1, 1] (an embedding output), float biases.
void BM_LstmHybrid(benchmark::State& state) {
  const RnnOperands o(static_cast<int>(state.range(0)), kLstmHidden, 4);
  const auto x = RandomF32(o.x.size(), 1);
  const auto bias = RandomF32(4 * kLstmHidden, 4, -0.1f, 0.1f);
  const qk::LstmHybridWeights w{o.w_x.data(), o.w_h.data(), bias.data()};
  const auto prepared = qk::PrepareLstmHybrid(
      {o.shape, ChannelScales(4 * kLstmHidden, kRnnWeightScale), ChannelScales(4 * kLstmHidden, kRnnWeightScale)}, w);
  if (!Prepared(state, prepared)) return;
  std::vector<float> y(std::size_t(o.shape.batch) * kSeqLen * kLstmHidden);
  FloatScratch scratch(qk::ref::lstm_hybrid_scratch_bytes(o.shape));
  for (auto _ : state) {
    qk::ref::lstm_hybrid(*prepared, w, {.x = x.data(), .y = y.data()}, scratch.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, RnnMacs(o.shape, 4), o.shape.batch);
}

void BM_GruHybrid(benchmark::State& state) {
  const RnnOperands o(static_cast<int>(state.range(0)), kGruHidden, 3);
  const auto x = RandomF32(o.x.size(), 1);
  const auto b_x = RandomF32(3 * kGruHidden, 4, -0.1f, 0.1f), b_h = RandomF32(3 * kGruHidden, 5, -0.1f, 0.1f);
  const qk::GruHybridWeights w{o.w_x.data(), o.w_h.data(), b_x.data(), b_h.data()};
  const auto prepared = qk::PrepareGruHybrid(
      {o.shape, ChannelScales(3 * kGruHidden, kRnnWeightScale), ChannelScales(3 * kGruHidden, kRnnWeightScale)}, w);
  if (!Prepared(state, prepared)) return;
  std::vector<float> y(std::size_t(o.shape.batch) * kSeqLen * kGruHidden);
  FloatScratch scratch(qk::ref::gru_hybrid_scratch_bytes(o.shape));
  for (auto _ : state) {
    qk::ref::gru_hybrid(*prepared, w, {.x = x.data(), .y = y.data()}, scratch.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, RnnMacs(o.shape, 3), o.shape.batch);
}

// ---------------------------------------------------------------------------
// Whole models. Each architecture is built, initialized (seed 1), quantized to
// int8 (min/max calibration on 32 synthetic samples) and to the dynamic scheme
// once, on first use; every benchmark then creates its own executor for its
// batch outside the timed loop and times Forward on 64 synthetic samples
// (images uniform in [0, 1), token ids uniform in [0, vocab)). The fast int8
// executor runs once per runnable int8 GEMM variant (`int8_fast/<variant>`).

constexpr int kMaxBatch = 64, kCalibrationSamples = 32, kVocab = 20000;

enum class Engine { kFloatReference, kFloatFast, kInt8, kInt8Fast, kDynamic };
const char* EngineName(Engine e) {
  switch (e) {
    case Engine::kFloatReference: return "float_ref";
    case Engine::kFloatFast: return "float_fast";
    case Engine::kInt8: return "int8";
    case Engine::kInt8Fast: return "int8_fast";
    case Engine::kDynamic: return "dynamic";
  }
  return "?";
}

struct ZooCase {
  const char* arch;
  std::vector<std::int64_t> input_shape;
  int num_classes;
};
const ZooCase kZooCases[] = {
    {"lenet5", {28, 28, 1}, 10},
    {"resnet20", {28, 28, 1}, 10},
    {"lstm", {kSeqLen}, 2},
    {"gru", {kSeqLen}, 2},
};

qualm::Dataset SyntheticData(const qualm::Model& m, int n, unsigned seed) {
  qualm::Dataset d;
  d.name = "synthetic";
  d.sample_type = m.input_type;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  const std::size_t count = static_cast<std::size_t>(n) * d.sample_size();
  std::mt19937 rng(seed);
  if (m.input_type == qualm::SampleType::kInt32) {
    std::uniform_int_distribution<std::int32_t> id(0, kVocab - 1);
    for (std::size_t i = 0; i < count; ++i) d.i32.push_back(id(rng));
  } else {
    d.f32 = RandomF32(count, seed, 0.0f, 1.0f);
  }
  for (int i = 0; i < n; ++i) d.labels.push_back(i % m.num_classes);
  return d;
}

// MACs of one sample's forward pass: conv2d, dense, LSTM and GRU layers.
double ModelMacsPerSample(const qualm::Model& m, const std::vector<qualm::Shape>& shapes) {
  double macs = 0;
  for (std::size_t i = 1; i < m.nodes.size(); ++i) {
    const qualm::Node& node = m.nodes[i];
    const qualm::Shape& in = shapes[static_cast<std::size_t>(node.inputs[0])];
    const qualm::Shape& out = shapes[i];
    if (const auto* c = std::get_if<qualm::Conv2dOp>(&node.op))
      macs += double(out.elements()) * c->kernel_h * c->kernel_w * (in[2] / c->groups);
    else if (const auto* d = std::get_if<qualm::DenseOp>(&node.op))
      macs += double(in.elements()) * d->out_features;
    else if (const auto* l = std::get_if<qualm::LstmOp>(&node.op))
      macs += double(in[0]) * 4 * l->hidden * (in[1] + l->hidden);
    else if (const auto* g = std::get_if<qualm::GruOp>(&node.op))
      macs += double(in[0]) * 3 * g->hidden * (in[1] + g->hidden);
  }
  return macs;
}

struct ZooModels {
  qualm::Model float_model, int8_model, dynamic_model;
  qualm::Dataset inputs;  // kMaxBatch samples
  double macs_per_sample = 0;
  std::string error;      // non-empty: building or quantizing failed
};

qualm::Status BuildZooModels(const ZooCase& z, ZooModels& out) {
  qualm::ZooOptions zo;
  zo.input_shape = z.input_shape;
  zo.num_classes = z.num_classes;
  zo.vocab = kVocab;
  auto built = qualm::BuildZooModel(z.arch, zo);
  if (!built.ok()) return built.status();
  out.float_model = std::move(built).value();
  if (auto s = qualm::InitializeParameters(out.float_model, 1); !s.ok()) return s;
  // The default embedding init (+-0.05) leaves a random recurrent state near 0;
  // widened as in tests/engine/int8_model_test.cpp, for trained-like magnitudes.
  for (auto& n : out.float_model.nodes)
    if (std::holds_alternative<qualm::EmbeddingOp>(n.op))
      for (std::int64_t k = 0; k < n.params[0].value.elements(); ++k) n.params[0].value.f32()[k] *= 20.0f;
  auto shapes = qualm::InferShapes(std::as_const(out.float_model));
  if (!shapes.ok()) return shapes.status();
  out.macs_per_sample = ModelMacsPerSample(out.float_model, *shapes);
  out.inputs = SyntheticData(out.float_model, kMaxBatch, 11);

  const qualm::Dataset calibration = SyntheticData(out.float_model, kCalibrationSamples, 12);
  qualm::PtqOptions int8;
  int8.scheme = qualm::QuantScheme::kInt8;
  int8.calibration.samples = kCalibrationSamples;
  int8.calibration.backend = qualm::Backend::kFast;  // only the calibration ranges; setup speed
  auto q = qualm::QuantizeModel(out.float_model, &calibration, int8);
  if (!q.ok()) return q.status().WithContext("int8");
  out.int8_model = std::move(q).value();
  qualm::PtqOptions dynamic;
  dynamic.scheme = qualm::QuantScheme::kDynamic;
  auto d = qualm::QuantizeModel(out.float_model, nullptr, dynamic);
  if (!d.ok()) return d.status().WithContext("dynamic");
  out.dynamic_model = std::move(d).value();
  return qualm::Status::Ok();
}

ZooModels& GetZooModels(const ZooCase& z) {
  static std::map<std::string, std::unique_ptr<ZooModels>> cache;
  auto& slot = cache[z.arch];
  if (!slot) {
    slot = std::make_unique<ZooModels>();
    if (auto s = BuildZooModels(z, *slot); !s.ok()) slot->error = s.WithContext(z.arch).ToString();
  }
  return *slot;
}

// isa: for kInt8Fast, the int8 GEMM variant to force (the test hook).
void BM_Model(benchmark::State& state, const ZooCase* z, Engine engine, qk::Isa isa) {
  std::optional<qk::detail::ScopedInt8GemmIsaForTesting> variant;
  if (engine == Engine::kInt8Fast) {
    variant.emplace(isa);
    if (!variant->ok()) return state.SkipWithError("int8 GEMM variant not available");
  }
  ZooModels& m = GetZooModels(*z);
  if (!m.error.empty()) return state.SkipWithError(m.error.c_str());
  const int batch = static_cast<int>(state.range(0));
  const void* input = m.inputs.sample_type == qualm::SampleType::kInt32 ? static_cast<const void*>(m.inputs.i32.data())
                                                                        : static_cast<const void*>(m.inputs.f32.data());
  // Every engine through the one inference interface, as evaluation runs it;
  // one thread, like every benchmark here.
  const bool int8 = engine == Engine::kInt8 || engine == Engine::kInt8Fast;
  const qualm::Model& model = int8 ? m.int8_model : engine == Engine::kDynamic ? m.dynamic_model : m.float_model;
  qualm::InferenceOptions io;
  io.max_batch = batch;
  io.threads = 1;
  io.backend = engine == Engine::kFloatReference || engine == Engine::kInt8 ? qualm::Backend::kReference
                                                                            : qualm::Backend::kFast;
  auto ex = qualm::Inference::Create(model, io);
  if (!Prepared(state, ex)) return;
  state.SetLabel((*ex)->PathDescription());
  for (auto _ : state) {
    (*ex)->Run(input, batch);
    benchmark::DoNotOptimize((*ex)->logits());
    benchmark::ClobberMemory();
  }
  SetRates(state, m.macs_per_sample * batch, batch);
}

// ---------------------------------------------------------------------------
// Elementwise-family int8 ops on ResNet-20's activation shapes (per sample):
// the residual add and the ReLU rescale at each stage (28x28x16, 14x14x32,
// 7x7x64), the float input's quantize (28x28x1), the global average pool
// (7x7x64), and LeNet-5's 2x2 max pools. Reference (ref::) and fast (fast::,
// the dispatcher's variant, in the context as qualm_s8_eltwise_path) in the same
// run; "elem/s" counts output elements (input elements for the pools).

// add_s8 runs as the engine runs it: the fast variant with its prepared
// whole-op table (fast::PrepareAddS8Table); add_s8_lanes is the fast variant
// without one (per-call input tables and lane requantization), for comparison.
enum class EltOp { kAdd, kAddLanes, kRescale, kQuantize, kMaxPool, kGlobalAvgPool };
struct EltShape {
  const char* name;
  EltOp op;
  int h, w, c;  // per-sample input
};
const EltShape kEltShapes[] = {
    {"add_s8/resnet20/s1_28x28x16", EltOp::kAdd, 28, 28, 16},
    {"add_s8/resnet20/s2_14x14x32", EltOp::kAdd, 14, 14, 32},
    {"add_s8/resnet20/s3_7x7x64", EltOp::kAdd, 7, 7, 64},
    {"add_s8_lanes/resnet20/s1_28x28x16", EltOp::kAddLanes, 28, 28, 16},
    {"rescale_s8/resnet20/relu_28x28x16", EltOp::kRescale, 28, 28, 16},
    {"rescale_s8/resnet20/relu_14x14x32", EltOp::kRescale, 14, 14, 32},
    {"rescale_s8/resnet20/relu_7x7x64", EltOp::kRescale, 7, 7, 64},
    {"quantize_s8/resnet20/input_28x28x1", EltOp::kQuantize, 28, 28, 1},
    {"global_avg_pool_s8/resnet20/gap_7x7x64", EltOp::kGlobalAvgPool, 7, 7, 64},
    {"max_pool2d_s8/lenet5/pool1_28x28x6_2x2", EltOp::kMaxPool, 28, 28, 6},
    {"max_pool2d_s8/lenet5/pool2_10x10x16_2x2", EltOp::kMaxPool, 10, 10, 16},
};

void BM_Eltwise(benchmark::State& state, const EltShape* s, bool fast) {
  const int batch = static_cast<int>(state.range(0));
  const std::int64_t n = std::int64_t{batch} * s->h * s->w * s->c;
  const auto a = RandomActivations(static_cast<std::size_t>(n), 31), b = RandomActivations(static_cast<std::size_t>(n), 32);
  std::vector<std::int8_t> y(static_cast<std::size_t>(n));
  const qk::QuantParams qa{0.05f, -3}, qb{0.07f, 4}, qout{0.09f, -1};
  std::function<void()> run;
  if (s->op == EltOp::kAdd || s->op == EltOp::kAddLanes) {
    qk::AddS8Params p;
    p.count = n;
    p.input_a = qa;
    p.input_b = qb;
    p.output = qout;
    auto pr = qk::PrepareAddS8(p);
    if (!Prepared(state, pr)) return;
    if (fast && s->op == EltOp::kAdd) qk::fast::PrepareAddS8Table(*pr);
    run = [&, pp = *pr] {
      if (fast) {
        qk::fast::add_s8(pp, a.data(), b.data(), y.data());
      } else {
        qk::ref::add_s8(pp, a.data(), b.data(), y.data());
      }
    };
  } else if (s->op == EltOp::kRescale) {
    qk::RescaleS8Params p;
    p.count = n;
    p.input = qa;
    p.output = qout;
    p.act_min = qout.zero_point;  // ReLU
    auto pr = qk::PrepareRescaleS8(p);
    if (!Prepared(state, pr)) return;
    run = [&, pp = *pr] {
      if (fast) {
        qk::fast::rescale_s8(pp, a.data(), y.data());
      } else {
        qk::ref::rescale_s8(pp, a.data(), y.data());
      }
    };
  } else if (s->op == EltOp::kQuantize) {
    static const auto x = RandomF32(static_cast<std::size_t>(kMaxBatch) * 28 * 28, 33, -2.0f, 2.0f);
    qk::QuantizeS8Params p;
    p.count = n;
    p.q = {4.0f / 255.0f, 0};
    run = [&, p] { (fast ? qk::fast::quantize_s8 : qk::ref::quantize_s8)(p, x.data(), y.data()); };
  } else if (s->op == EltOp::kMaxPool) {
    qk::Pool2dS8Params p;
    p.shape = {.batch = batch, .in_h = s->h, .in_w = s->w, .channels = s->c, .kernel_h = 2, .kernel_w = 2,
               .stride_h = 2, .stride_w = 2};
    p.input = p.output = qa;
    auto pr = qk::PrepareMaxPool2dS8(p);
    if (!Prepared(state, pr)) return;
    run = [&, pp = *pr] { (fast ? qk::fast::max_pool2d_s8 : qk::ref::max_pool2d_s8)(pp, a.data(), y.data()); };
  } else {
    qk::GlobalAvgPoolS8Params p;
    p.shape = {batch, s->h * s->w, s->c};
    p.input = p.output = qa;
    auto pr = qk::PrepareGlobalAvgPoolS8(p);
    if (!Prepared(state, pr)) return;
    run = [&, pp = *pr] { (fast ? qk::fast::global_avg_pool_s8 : qk::ref::global_avg_pool_s8)(pp, a.data(), y.data()); };
  }
  state.SetLabel(fast ? qk::detail::S8EltwisePathName() : "ref");
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["elem/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(state.iterations() * batch);
}

// ---------------------------------------------------------------------------

template <class... Args>
void Register(const std::string& name, benchmark::TimeUnit unit, Args&&... args) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)
      ->Unit(unit)->ArgName("batch")->Arg(1)->Arg(kMaxBatch);
}

void RegisterAll() {
  const auto variants = qk::detail::RunnableInt8GemmVariants();
  for (const ConvShape& s : kConvShapes) {
    Register(std::string("conv2d/s8_ref/") + s.name, benchmark::kMicrosecond, BM_Conv2dS8, s);
    for (const auto& v : variants)
      Register(std::string("conv2d/s8_fast/") + v.name + "/" + s.name, benchmark::kMicrosecond, BM_Conv2dS8Fast, s,
               v.isa);
    Register(std::string("conv2d/hybrid_ref/") + s.name, benchmark::kMicrosecond, BM_Conv2dHybrid, s);
    for (const auto& v : variants)
      Register(std::string("conv2d/hybrid_fast/") + v.name + "/" + s.name, benchmark::kMicrosecond,
               BM_Conv2dHybridFast, s, v.isa);
  }
  for (const DenseShape& s : kDenseShapes) {
    Register(std::string("dense/s8_ref/") + s.name, benchmark::kMicrosecond, BM_DenseS8, s);
    for (const auto& v : variants)
      Register(std::string("dense/s8_fast/") + v.name + "/" + s.name, benchmark::kMicrosecond, BM_DenseS8Fast, s,
               v.isa);
    Register(std::string("dense/hybrid_ref/") + s.name, benchmark::kMicrosecond, BM_DenseHybrid, s);
    for (const auto& v : variants)
      Register(std::string("dense/hybrid_fast/") + v.name + "/" + s.name, benchmark::kMicrosecond,
               BM_DenseHybridFast, s, v.isa);
  }
  Register("lstm/s8_ref/t200_i128_h50", benchmark::kMillisecond, BM_LstmS8);
  Register("lstm/hybrid_ref/t200_i128_h50", benchmark::kMillisecond, BM_LstmHybrid);
  Register("gru/s8_ref/t200_i128_h75", benchmark::kMillisecond, BM_GruS8);
  Register("gru/hybrid_ref/t200_i128_h75", benchmark::kMillisecond, BM_GruHybrid);
  for (const EltShape& s : kEltShapes)
    for (bool fast : {false, true})
      Register(std::string(s.name).insert(std::string(s.name).find('/'), fast ? "/fast" : "/ref"),
               benchmark::kMicrosecond, BM_Eltwise, &s, fast);
  for (const ZooCase& z : kZooCases)
    for (Engine e : {Engine::kFloatReference, Engine::kFloatFast, Engine::kInt8, Engine::kInt8Fast, Engine::kDynamic}) {
      if (e != Engine::kInt8Fast) {
        Register(std::string("model/") + z.arch + "/" + EngineName(e), benchmark::kMillisecond, BM_Model, &z, e,
                 qk::Isa::kScalar);
        continue;
      }
      for (const auto& v : variants)
        Register(std::string("model/") + z.arch + "/" + EngineName(e) + "/" + v.name, benchmark::kMillisecond, BM_Model,
                 &z, e, v.isa);
    }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("qualm_cpu", qk::DescribeCpu());
  benchmark::AddCustomContext("qualm_gemm_path", qk::GemmPathName());
  benchmark::AddCustomContext("qualm_int8_gemm_path", qk::Int8GemmPathName());
  benchmark::AddCustomContext("qualm_s8_eltwise_path", qk::detail::S8EltwisePathName());
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
