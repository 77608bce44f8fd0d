// Float kernel benchmarks on the study's real layer shapes: reference vs fast
// in the same run, FLOP rates as counters, the gemm path and CPU in the context.
//
// Shapes: ResNet-20 (16/32/64 channels, 3x3, 28x28 input, batch 128), LeNet-5
// (batch 128), their dense layers, and an LSTM (batch 64, seq 200, I 128, H 50).
// Buffers and scratch are allocated before the timed loop; backward passes
// accumulate into the same gradient buffers on every iteration (the values do
// not matter, the work does).
//
// FLOPs counted as 2 per multiply-add of the op's definition (padding taps
// included for conv, so ref and fast report comparable rates):
//   conv fwd 2*N*OH*OW*OC*KH*KW*IC/g; conv bwd twice that (dx and dw);
//   dense 2*B*I*O per pass (bwd twice); LSTM fwd 2*B*T*4H*(I+H), bwd twice.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "qualm/kernels/batchnorm.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/detail/gemm_variants.h"
#include "qualm/kernels/elementwise.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;

namespace {

std::vector<float> RandomVec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// 64-byte aligned scratch, as the engine provides it.
struct AlignedScratch {
  std::vector<float> storage;
  float* ptr = nullptr;
  std::size_t floats = 0;
  explicit AlignedScratch(std::size_t n) : storage(n + 16), floats(n) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
    ptr = storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  }
  qk::KernelContext Context(int threads) { return {threads, ptr, floats}; }
};

struct ConvShape {
  const char* name;
  int batch, h, w, ic, oc, k, stride, pad;
  int count_in_resnet20;  // how many times the shape occurs in one ResNet-20 pass (0: not ResNet-20)
};

// ResNet-20 for 28x28x1 inputs: a 3x3 stem to 16 channels, three stages of
// three basic blocks (two 3x3 convs each); stages 2 and 3 start with a
// stride-2 conv and a 1x1 stride-2 projection shortcut.
const ConvShape kConvShapes[] = {
    {"resnet20/stem_28x28x1_16", 128, 28, 28, 1, 16, 3, 1, 1, 1},
    {"resnet20/s1_28x28x16_16", 128, 28, 28, 16, 16, 3, 1, 1, 6},
    {"resnet20/s2down_28x28x16_32_s2", 128, 28, 28, 16, 32, 3, 2, 1, 1},
    {"resnet20/s2proj_1x1_16_32_s2", 128, 28, 28, 16, 32, 1, 2, 0, 1},
    {"resnet20/s2_14x14x32_32", 128, 14, 14, 32, 32, 3, 1, 1, 5},
    {"resnet20/s3down_14x14x32_64_s2", 128, 14, 14, 32, 64, 3, 2, 1, 1},
    {"resnet20/s3proj_1x1_32_64_s2", 128, 14, 14, 32, 64, 1, 2, 0, 1},
    {"resnet20/s3_7x7x64_64", 128, 7, 7, 64, 64, 3, 1, 1, 5},
    {"lenet5/conv1_28x28x1_6_5x5p2", 128, 28, 28, 1, 6, 5, 1, 2, 0},
    {"lenet5/conv2_14x14x6_16_5x5", 128, 14, 14, 6, 16, 5, 1, 0, 0},
};

qk::Conv2dParams ToParams(const ConvShape& s) {
  qk::Conv2dParams p;
  p.batch = s.batch, p.in_h = s.h, p.in_w = s.w, p.in_c = s.ic, p.out_c = s.oc;
  p.kernel_h = p.kernel_w = s.k;
  p.stride_h = p.stride_w = s.stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
  return p;
}

double ConvFlops(const qk::Conv2dParams& p) {
  return 2.0 * p.batch * p.out_h() * p.out_w() * p.out_c * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
}

struct ConvBuffers {
  std::vector<float> x, w, b, y, dy, dx, dw, db;
  explicit ConvBuffers(const qk::Conv2dParams& p)
      : x(RandomVec(std::size_t(p.batch) * p.in_h * p.in_w * p.in_c, 1)),
        w(RandomVec(std::size_t(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups), 2)),
        b(RandomVec(p.out_c, 3)),
        y(std::size_t(p.batch) * p.out_h() * p.out_w() * p.out_c),
        dy(RandomVec(y.size(), 4)),
        dx(x.size()),
        dw(w.size()),
        db(b.size()) {}
};

void SetRate(benchmark::State& state, double flops_per_iter) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iter, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvFwd(benchmark::State& state, ConvShape s, bool fast) {
  const qk::Conv2dParams p = ToParams(s);
  ConvBuffers buf(p);
  const int threads = static_cast<int>(state.range(0));
  AlignedScratch scratch(fast ? qk::fast::conv2d_scratch_floats(p, threads) : 0);
  for (auto _ : state) {
    if (fast) qk::fast::conv2d_f32(scratch.Context(threads), p, buf.x.data(), buf.w.data(), buf.b.data(), buf.y.data());
    else qk::ref::conv2d_f32(p, buf.x.data(), buf.w.data(), buf.b.data(), buf.y.data());
    benchmark::DoNotOptimize(buf.y.data());
  }
  SetRate(state, ConvFlops(p));
}

// dx is skipped for layers that read the network input (the stem, LeNet conv1),
// as in training.
void BM_ConvBwd(benchmark::State& state, ConvShape s, bool fast) {
  const qk::Conv2dParams p = ToParams(s);
  ConvBuffers buf(p);
  const bool want_dx = s.ic > 1;
  const int threads = static_cast<int>(state.range(0));
  AlignedScratch scratch(fast ? qk::fast::conv2d_scratch_floats(p, threads) : 0);
  float* dx = want_dx ? buf.dx.data() : nullptr;
  for (auto _ : state) {
    if (fast)
      qk::fast::conv2d_backward_f32(scratch.Context(threads), p, buf.x.data(), buf.w.data(), buf.dy.data(), dx,
                                    buf.dw.data(), buf.db.data());
    else
      qk::ref::conv2d_backward_f32(p, buf.x.data(), buf.w.data(), buf.dy.data(), dx, buf.dw.data(), buf.db.data());
    benchmark::DoNotOptimize(buf.dw.data());
  }
  SetRate(state, ConvFlops(p) * (want_dx ? 2 : 1));
}

struct DenseShape {
  const char* name;
  int batch, in, out;
};
const DenseShape kDenseShapes[] = {
    {"lenet5/fc1_400_120", 128, 400, 120},
    {"lenet5/fc2_120_84", 128, 120, 84},
    {"lenet5/fc3_84_10", 128, 84, 10},
    {"resnet20/fc_64_10", 128, 64, 10},
};

void BM_Dense(benchmark::State& state, DenseShape s, bool fast, bool backward) {
  const qk::DenseParams p{s.batch, s.in, s.out};
  auto x = RandomVec(std::size_t(s.batch) * s.in, 1), w = RandomVec(std::size_t(s.out) * s.in, 2),
       b = RandomVec(s.out, 3), dy = RandomVec(std::size_t(s.batch) * s.out, 4);
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), db(b.size());
  const qk::KernelContext ctx{static_cast<int>(state.range(0)), nullptr, 0};
  for (auto _ : state) {
    if (!backward && fast) qk::fast::dense_f32(ctx, p, x.data(), w.data(), b.data(), y.data());
    if (!backward && !fast) qk::ref::dense_f32(p, x.data(), w.data(), b.data(), y.data());
    if (backward && fast) qk::fast::dense_backward_f32(ctx, p, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    if (backward && !fast) qk::ref::dense_backward_f32(p, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dw.data());
  }
  SetRate(state, 2.0 * s.batch * s.in * s.out * (backward ? 2 : 1));
}

void BM_Lstm(benchmark::State& state, bool fast, bool backward) {
  const qk::RnnParams p{64, 200, 128, 50};
  const int B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size;
  auto x = RandomVec(std::size_t(B) * T * I, 1), wx = RandomVec(std::size_t(4) * H * I, 2),
       wh = RandomVec(std::size_t(4) * H * H, 3), bias = RandomVec(4 * H, 4), dy = RandomVec(std::size_t(B) * T * H, 5);
  for (float& v : wx) v *= 0.1f;
  for (float& v : wh) v *= 0.1f;
  std::vector<float> y(dy.size()), gates(std::size_t(B) * T * 4 * H), cells(std::size_t(B) * T * H), dx(x.size()),
      dwx(wx.size()), dwh(wh.size()), db(bias.size());
  const int threads = static_cast<int>(state.range(0));
  AlignedScratch scratch(fast ? qk::fast::lstm_scratch_floats(p, threads) : 0);
  const qk::LstmWeights w{wx.data(), wh.data(), bias.data()};
  const qk::LstmGrads g{dwx.data(), dwh.data(), db.data()};
  // The backward needs a forward's workspace; computed once outside the loop.
  if (fast) qk::fast::lstm_f32(scratch.Context(threads), p, w, x.data(), nullptr, nullptr, y.data(), nullptr, nullptr, gates.data(), cells.data());
  else qk::ref::lstm_f32(p, w, x.data(), nullptr, nullptr, y.data(), nullptr, nullptr, gates.data(), cells.data());
  for (auto _ : state) {
    if (!backward && fast)
      qk::fast::lstm_f32(scratch.Context(threads), p, w, x.data(), nullptr, nullptr, y.data(), nullptr, nullptr,
                         gates.data(), cells.data());
    if (!backward && !fast)
      qk::ref::lstm_f32(p, w, x.data(), nullptr, nullptr, y.data(), nullptr, nullptr, gates.data(), cells.data());
    if (backward && fast)
      qk::fast::lstm_backward_f32(scratch.Context(threads), p, w, x.data(), nullptr, nullptr, y.data(), gates.data(),
                                  cells.data(), dy.data(), nullptr, nullptr, dx.data(), g, nullptr, nullptr);
    if (backward && !fast)
      qk::ref::lstm_backward_f32(p, w, x.data(), nullptr, nullptr, y.data(), gates.data(), cells.data(), dy.data(),
                                 nullptr, nullptr, dx.data(), g, nullptr, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dwx.data());
  }
  SetRate(state, 2.0 * B * T * 4 * H * (I + H) * (backward ? 2 : 1));
}

// The reference-only ops a ResNet-20 training step also runs (batchnorm
// training forward + backward and ReLU forward + backward), on stage 1's
// activation shape, for the epoch-time estimate.
void BM_BnReluTrainStep(benchmark::State& state, int rows, int channels) {
  const qk::BatchNormParams p{rows, channels, 1e-5f, 0.1f};
  const std::size_t n = std::size_t(rows) * channels;
  auto x = RandomVec(n, 1), dy = RandomVec(n, 2), gamma = RandomVec(channels, 3), beta = RandomVec(channels, 4);
  std::vector<float> y(n), r(n), dx(n), dr(n), mean(channels), invstd(channels), rm(channels), rv(channels, 1.0f),
      dg(channels), dbeta(channels);
  for (auto _ : state) {
    qk::ref::batchnorm_training_f32(p, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), invstd.data(),
                                    rm.data(), rv.data());
    qk::ref::relu_f32(n, y.data(), r.data());
    qk::ref::relu_backward_f32(n, y.data(), dy.data(), dr.data());
    qk::ref::batchnorm_backward_f32(p, x.data(), gamma.data(), mean.data(), invstd.data(), dr.data(), dx.data(),
                                    dg.data(), dbeta.data());
    benchmark::DoNotOptimize(dx.data());
  }
  state.counters["elements/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

// Every gemm variant this machine can run, on the per-tile GEMMs of the
// ResNet-20 convs (stage 1: one 28x28 image, forward, dW, dx; stages 2 and 3:
// the forward tile conv2d.cpp cuts, and stage 3's dW) and a square one.
// gemm_f32 is deterministic (gemm.h), so these rates are what determinism
// costs or saves against the Eigen path it replaced (issue 11 notes).
struct GemmShape {
  const char* name;
  bool trans_a, trans_b;
  int m, n, k;
};
const GemmShape kGemmShapes[] = {
    {"conv_fwd_tile_784x16x144_nt", false, true, 784, 16, 144},
    {"conv_dw_tile_16x144x784_tn", true, false, 16, 144, 784},
    {"conv_dx_tile_784x144x16_nn", false, false, 784, 144, 16},
    {"conv_fwd_tile_196x32x288_nt", false, true, 196, 32, 288},
    {"conv_fwd_tile_98x64x576_nt", false, true, 98, 64, 576},
    {"conv_dw_tile_64x576x98_tn", true, false, 64, 576, 98},
    {"square_512_nn", false, false, 512, 512, 512},
};

void BM_Gemm(benchmark::State& state, qk::detail::GemmVariant v, GemmShape s) {
  qk::GemmParams p;
  p.trans_a = s.trans_a, p.trans_b = s.trans_b, p.m = s.m, p.n = s.n, p.k = s.k;
  p.lda = s.trans_a ? s.m : s.k, p.ldb = s.trans_b ? s.k : s.n, p.ldc = s.n;
  auto a = RandomVec(std::size_t(s.m) * s.k, 1), b = RandomVec(std::size_t(s.k) * s.n, 2);
  std::vector<float> c(std::size_t(s.m) * s.n);
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    v.fn(p, a.data(), b.data(), c.data(), threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetRate(state, 2.0 * s.m * s.n * s.k);
}

void RegisterAll() {
  for (const auto& v : qk::detail::RunnableGemmVariants())
    for (const GemmShape& s : kGemmShapes)
      benchmark::RegisterBenchmark((std::string("gemm/") + v.name + "/" + s.name).c_str(), BM_Gemm, v, s)
          ->Unit(benchmark::kMicrosecond)->UseRealTime()->ArgName("threads")->Arg(1)->Arg(2);
  for (const ConvShape& s : kConvShapes) {
    for (bool fast : {false, true}) {
      const std::string path = fast ? "fast" : "ref";
      auto* f = benchmark::RegisterBenchmark(("conv2d_fwd/" + path + "/" + s.name).c_str(), BM_ConvFwd, s, fast);
      auto* b = benchmark::RegisterBenchmark(("conv2d_bwd/" + path + "/" + s.name).c_str(), BM_ConvBwd, s, fast);
      for (auto* bm : {f, b}) {
        bm->Unit(benchmark::kMillisecond)->UseRealTime()->ArgName("threads");
        if (fast) bm->Arg(1)->Arg(2);
        else bm->Arg(1)->Iterations(1);  // the reference is slow; one pass gives its rate
      }
    }
  }
  for (const DenseShape& s : kDenseShapes)
    for (bool fast : {false, true})
      for (bool bwd : {false, true}) {
        const std::string name =
            std::string(bwd ? "dense_bwd/" : "dense_fwd/") + (fast ? "fast/" : "ref/") + s.name;
        auto* bm = benchmark::RegisterBenchmark(name.c_str(), BM_Dense, s, fast, bwd);
        bm->Unit(benchmark::kMicrosecond)->UseRealTime()->ArgName("threads")->Arg(1);
        if (fast) bm->Arg(2);
      }
  for (bool fast : {false, true})
    for (bool bwd : {false, true}) {
      const std::string name = std::string(bwd ? "lstm_bwd/" : "lstm_fwd/") + (fast ? "fast" : "ref") +
                               "/b64_t200_i128_h50";
      auto* bm = benchmark::RegisterBenchmark(name.c_str(), BM_Lstm, fast, bwd);
      bm->Unit(benchmark::kMillisecond)->UseRealTime()->ArgName("threads");
      if (fast) bm->Arg(1)->Arg(2);
      else bm->Arg(1)->Iterations(1);
    }
  benchmark::RegisterBenchmark("bn_relu_train_step/ref/resnet20_s1_100352x16", BM_BnReluTrainStep, 128 * 28 * 28, 16)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("bn_relu_train_step/ref/resnet20_s3_6272x64", BM_BnReluTrainStep, 128 * 7 * 7, 64)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("qualm_cpu", qk::DescribeCpu());
  benchmark::AddCustomContext("qualm_gemm_path", qk::GemmPathName());
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
