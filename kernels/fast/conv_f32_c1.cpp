// The one-input-channel branch of fast::conv2d_f32 (fast/conv_f32_c1.h):
// which kernel runs (detail/conv_c1_variants.h), its scratch, and the threads.
//
// The kernel follows the active gemm_f32 variant's ISA (so QUALM_ISA and the
// test override cap both alike); the generic variant has none (its std::fma is
// a libm call: no faster than the GEMM), and there the general path runs.
// Threads get a fixed, contiguous range of output pixels each (whole 64-pixel
// blocks); every output is one fixed operation sequence computed by one
// thread, so the split changes no bit.
#include <algorithm>
#include <cstdint>

#include "fast/conv_f32_c1.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels {
namespace detail {

ConvF32C1Fn ActiveConvF32C1() {
#if defined(__x86_64__) || defined(__i386__)
  switch (ActiveGemmVariant().isa) {
    case Isa::kAvx512: return &conv_f32_c1_64p__avx512;
    case Isa::kAvx2: return &conv_f32_c1_64p__avx2;
    default: break;
  }
#endif
  return nullptr;
}

const char* ConvF32C1PathName() {
#if defined(__x86_64__) || defined(__i386__)
  const ConvF32C1Fn fn = ActiveConvF32C1();
  if (fn == &conv_f32_c1_64p__avx512) return "conv_f32_c1_64p__avx512";
  if (fn == &conv_f32_c1_64p__avx2) return "conv_f32_c1_64p__avx2";
#endif
  return "none";
}

}  // namespace detail

namespace fast::internal_f32 {
namespace {

using Index = std::int64_t;

// Output pixels per thread below which another thread is not worth a fork.
constexpr Index kMinPixelsPerThread = 2 * detail::kConvC1Pixels;

// One thread's scratch in floats, a multiple of 16 (64 bytes).
std::size_t ThreadFloats(const Conv2dParams& p) {
  const auto n = static_cast<std::size_t>(detail::ConvF32C1ScratchFloats(p));
  return (n + 15) / 16 * 16;
}

}  // namespace

std::size_t ConvF32C1ScratchFloats(const Conv2dParams& p, int threads) {
  if (!detail::IsConvC1(p)) return 0;
  return ThreadFloats(p) * static_cast<std::size_t>(std::max(threads, 1));
}

bool RunConvF32C1(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w, const float* bias,
                  float* y) {
  if (!detail::IsConvC1(p) || detail::ConvC1DisabledForTesting()) return false;
  const detail::ConvF32C1Fn fn = detail::ActiveConvF32C1();
  if (fn == nullptr) return false;
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= ConvF32C1ScratchFloats(p, ctx.threads));
  const Index M = Index{p.batch} * p.out_h() * p.out_w();
  detail::ConvF32C1Tile t;
  t.shape = &p;
  t.w = w;
  t.bias = bias;
  t.x = x;
  t.y = y;
  const Index blocks = (M + detail::kConvC1Pixels - 1) / detail::kConvC1Pixels;
  const double work = static_cast<double>(M) * p.out_c * p.kernel_h * p.kernel_w;
  const int nt = static_cast<int>(
      std::max<Index>(1, std::min<Index>(ThreadsForWork(ctx.threads, work), M / kMinPixelsPerThread)));
  const std::size_t stride = ThreadFloats(p);
  auto run = [&](int tid) {
    detail::ConvF32C1Tile mine = t;
    mine.pix0 = std::min(M, blocks * tid / nt * detail::kConvC1Pixels);
    mine.pix1 = std::min(M, blocks * (tid + 1) / nt * detail::kConvC1Pixels);
    mine.scratch = ctx.scratch + static_cast<std::size_t>(tid) * stride;
    if (mine.pix0 < mine.pix1) fn(mine);
  };
  if (nt == 1) {
    run(0);
    return true;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid) run(tid);
  return true;
}

}  // namespace fast::internal_f32
}  // namespace qualm::kernels
