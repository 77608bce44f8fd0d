// The fast float batch-norm and elementwise training kernels (fast:: in
// batchnorm.h and elementwise.h): dispatch of the per-ISA row kernels
// (detail/norm_eltwise_f32_variants.h), the channel windows, and the
// per-channel scalar steps.
//
// Dispatch as gemm.cpp: a best-first table resolved once against ActiveIsa()
// (so capped by QUALM_ISA), plus a test-only override.
//
// Single-threaded on purpose (ctx.threads is accepted for a later split,
// which could not change bits: reductions split by whole channels,
// elementwise passes by rows). Measured on the 2-core reference machine while
// it was shared (bench/results/2026-12-03-training-kernels.md): splitting
// these memory-bound passes over 2 OpenMP threads made a ResNet-20 epoch
// slower (every extra parallel region waits for a thread the scheduler may
// have parked), and the GEMM already uses the threads.
// Channels are handled in windows of kMaxNormChannels, whose per-channel
// arrays live on the stack, as the reference's kBlock.
//
// The per-channel scalar steps repeat ref/batchnorm.cpp's expressions
// verbatim (same operations, same order), so mean, invstd, the running
// statistics, k, mean(dy) and mean(dy * xhat) are the reference's bits.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "internal/isa_dispatch.h"
#include "qualm/kernels/batchnorm.h"
#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"
#include "qualm/kernels/elementwise.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<const NormEltwiseF32Variant*> g_override{nullptr};

const NormEltwiseF32Variant& Chosen() {
  static const NormEltwiseF32Variant* chosen = [] {
    for (const NormEltwiseF32Variant& v : NormEltwiseF32Variants())
      if (IsaAvailable(v.isa)) return &v;
    return &NormEltwiseF32Variants().back();
  }();
  return *chosen;
}

}  // namespace

const std::vector<NormEltwiseF32Variant>& NormEltwiseF32Variants() {
  static const std::vector<NormEltwiseF32Variant> table = {
#if defined(__x86_64__) || defined(__i386__)  // x86 builds only, as in gemm.cpp
      NormEltwiseF32Avx512(),
      NormEltwiseF32Avx2(),
#endif
      NormEltwiseF32Generic(),
  };
  return table;
}

std::vector<NormEltwiseF32Variant> RunnableNormEltwiseF32Variants() {
  return internal::RunnableVariants(NormEltwiseF32Variants());
}

const NormEltwiseF32Variant& ActiveNormEltwiseF32Variant() {
  const NormEltwiseF32Variant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : Chosen();
}

const char* NormEltwiseF32PathName() { return ActiveNormEltwiseF32Variant().name; }

std::string DescribeNormEltwiseF32Dispatch() {
  return internal::DescribeDispatch(NormEltwiseF32Variants(), g_override.load(std::memory_order_relaxed));
}

ScopedNormEltwiseF32IsaForTesting::ScopedNormEltwiseF32IsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const NormEltwiseF32Variant* v = internal::RunnableVariantFor(NormEltwiseF32Variants(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedNormEltwiseF32IsaForTesting::~ScopedNormEltwiseF32IsaForTesting() {
  if (ok_) g_override.store(previous_);
}

}  // namespace detail

namespace fast {
namespace {

using detail::kMaxNormChannels;
using detail::NormEltwiseF32Variant;
using detail::NormRows;
using Index = std::int64_t;

// One window of nc channels starting at c0: everything below indexes [0, nc).
struct Window {
  Index rows, ld;
  int c0, nc;
  NormRows All() const { return NormRows{0, rows, ld, nc}; }
};

template <typename F>
void ForWindows(const BatchNormParams& p, F&& f) {
  for (int c0 = 0; c0 < p.channels; c0 += kMaxNormChannels)
    f(Window{p.rows, p.channels, c0, std::min(kMaxNormChannels, p.channels - c0)});
}

void GammaBeta(const Window& w, const float* gamma, const float* beta, float* g, float* b) {
  for (int j = 0; j < w.nc; ++j) {
    g[j] = gamma ? gamma[w.c0 + j] : 1.0f;
    if (b) b[j] = beta ? beta[w.c0 + j] : 0.0f;
  }
}

// dbeta += sum(dy), dgamma += sum(dy * x_hat) for the window's channels.
void AddParamGrads(const Window& w, const float* sum_dy, const float* sum_dyx, float* dbeta, float* dgamma) {
  for (int j = 0; j < w.nc; ++j) {
    if (dbeta) dbeta[w.c0 + j] += sum_dy[j];
    if (dgamma) dgamma[w.c0 + j] += sum_dyx[j];
  }
}

}  // namespace

void batchnorm_inference_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                             const float* beta, const float* running_mean, const float* running_var, float* y) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  ForWindows(p, [&](const Window& w) {
    float mean[kMaxNormChannels], invstd[kMaxNormChannels], g[kMaxNormChannels], b[kMaxNormChannels];
    for (int j = 0; j < w.nc; ++j) {
      mean[j] = running_mean[w.c0 + j];
      invstd[j] = 1.0f / std::sqrt(running_var[w.c0 + j] + p.epsilon);
    }
    GammaBeta(w, gamma, beta, g, b);
    v.affine(w.All(), x + w.c0, mean, invstd, g, b, y + w.c0);
  });
}

void batchnorm_training_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                            const float* beta, float* y, float* saved_mean, float* saved_invstd, float* running_mean,
                            float* running_var) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  const Index rows = p.rows;
  ForWindows(p, [&](const Window& w) {
    float mean[kMaxNormChannels] = {}, sq[kMaxNormChannels] = {}, invstd[kMaxNormChannels];
    const float* xw = x + w.c0;
    v.sum(w.All(), xw, mean);
    for (int j = 0; j < w.nc; ++j) mean[j] /= static_cast<float>(rows);
    v.sum_sq_dev(w.All(), xw, mean, sq);
    for (int j = 0; j < w.nc; ++j) {
      const int c = w.c0 + j;
      const float var = sq[j] / static_cast<float>(rows);
      invstd[j] = 1.0f / std::sqrt(var + p.epsilon);
      if (saved_mean) saved_mean[c] = mean[j];
      if (saved_invstd) saved_invstd[c] = invstd[j];
      if (running_mean) running_mean[c] = (1.0f - p.momentum) * running_mean[c] + p.momentum * mean[j];
      if (running_var) {
        const float unbiased = rows > 1 ? sq[j] / static_cast<float>(rows - 1) : var;
        running_var[c] = (1.0f - p.momentum) * running_var[c] + p.momentum * unbiased;
      }
    }
    float g[kMaxNormChannels], b[kMaxNormChannels];
    GammaBeta(w, gamma, beta, g, b);
    v.affine(w.All(), xw, mean, invstd, g, b, y + w.c0);
  });
}

void batchnorm_backward_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                            const float* saved_mean, const float* saved_invstd, const float* dy, float* dx,
                            float* dgamma, float* dbeta, GradOut dx_out) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  const float n = static_cast<float>(p.rows);
  ForWindows(p, [&](const Window& w) {
    float sum_dy[kMaxNormChannels] = {}, sum_dyx[kMaxNormChannels] = {};
    const float* mean = saved_mean + w.c0;
    const float* invstd = saved_invstd + w.c0;
    const float* xw = x + w.c0;
    const float* dyw = dy + w.c0;
    v.sum_dy_dyx(w.All(), xw, dyw, mean, invstd, sum_dy, sum_dyx);
    AddParamGrads(w, sum_dy, sum_dyx, dbeta, dgamma);
    if (!dx) return;
    float k[kMaxNormChannels], mean_dy[kMaxNormChannels], mean_dyx[kMaxNormChannels];
    GammaBeta(w, gamma, nullptr, k, nullptr);
    for (int j = 0; j < w.nc; ++j) {
      k[j] = k[j] * invstd[j];
      mean_dy[j] = sum_dy[j] / n;
      mean_dyx[j] = sum_dyx[j] / n;
    }
    (dx_out == GradOut::kAssign ? v.bn_dx_assign : v.bn_dx)(w.All(), xw, dyw, mean, invstd, k, mean_dy, mean_dyx,
                                                             dx + w.c0);
  });
}

void batchnorm_inference_backward_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x,
                                      const float* gamma, const float* running_mean, const float* running_var,
                                      const float* dy, float* dx, float* dgamma, float* dbeta, GradOut dx_out) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  ForWindows(p, [&](const Window& w) {
    float mean[kMaxNormChannels], invstd[kMaxNormChannels], k[kMaxNormChannels];
    float sum_dy[kMaxNormChannels] = {}, sum_dyx[kMaxNormChannels] = {};
    GammaBeta(w, gamma, nullptr, k, nullptr);
    for (int j = 0; j < w.nc; ++j) {
      mean[j] = running_mean[w.c0 + j];
      invstd[j] = 1.0f / std::sqrt(running_var[w.c0 + j] + p.epsilon);
      k[j] = k[j] * invstd[j];
    }
    const float* xw = x + w.c0;
    const float* dyw = dy + w.c0;
    v.sum_dy_dyx(w.All(), xw, dyw, mean, invstd, sum_dy, sum_dyx);
    AddParamGrads(w, sum_dy, sum_dyx, dbeta, dgamma);
    if (!dx) return;
    (dx_out == GradOut::kAssign ? v.scale_assign : v.scale_acc)(w.All(), dyw, k, dx + w.c0);
  });
}

void relu_f32(const KernelContext& ctx, std::size_t n, const float* x, float* y) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  v.relu(n, x, y);
}

void relu_backward_f32(const KernelContext& ctx, std::size_t n, const float* x, const float* dy, float* dx,
                       GradOut dx_out) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  (dx_out == GradOut::kAssign ? v.relu_backward_assign : v.relu_backward)(n, x, dy, dx);
}

void add_f32(const KernelContext& ctx, std::size_t n, const float* a, const float* b, float* y) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  v.add(n, a, b, y);
}

void accumulate_f32(const KernelContext& ctx, std::size_t n, const float* src, float* dst) {
  const NormEltwiseF32Variant& v = detail::ActiveNormEltwiseF32Variant();
  v.accumulate(n, src, dst);
}

}  // namespace fast
}  // namespace qualm::kernels
