// The one-input-channel branch of fast::conv2d_s8 (fast/conv_s8_c1.h): which
// kernel runs (detail/conv_c1_variants.h), its scratch, and the threads.
//
// The kernels take the u8 x s8 operands, so they exist only beside the VNNI
// GEMM variants, AVX-512 VNNI and AVX-VNNI (whose packing makes data_u8s8 and
// col_offset); with the AVX2 or generic variant active, the general im2col +
// GEMM path runs. Threads get
// a fixed, contiguous range of output pixels each (whole 64-pixel blocks); any
// split gives the same bits, since every output is one exact integer sum and
// one output stage computed by whichever thread owns its pixel.
#include <algorithm>
#include <atomic>

#include "fast/conv_s8_c1.h"
#include "fast/int8_rows.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<bool> g_c1_off{false};

}  // namespace

ConvS8C1Fn ActiveConvS8C1() {
#if defined(__x86_64__) || defined(__i386__)
  switch (ActiveInt8GemmVariant().isa) {
    case Isa::kAvx512Vnni: return &conv_s8u8_c1_64p__avx512vnni;
    case Isa::kAvxVnni: return &conv_s8u8_c1_64p__avxvnni;
    default: break;
  }
#endif
  return nullptr;
}

const char* ConvS8C1PathName() {
#if defined(__x86_64__) || defined(__i386__)
  const ConvS8C1Fn fn = ActiveConvS8C1();
  if (fn == &conv_s8u8_c1_64p__avx512vnni) return "conv_s8u8_c1_64p__avx512vnni";
  if (fn == &conv_s8u8_c1_64p__avxvnni) return "conv_s8u8_c1_64p__avxvnni";
#endif
  return "none";
}

ScopedConvC1OffForTesting::ScopedConvC1OffForTesting() : previous_(g_c1_off.exchange(true)) {}
ScopedConvC1OffForTesting::~ScopedConvC1OffForTesting() { g_c1_off.store(previous_); }
bool ConvC1DisabledForTesting() { return g_c1_off.load(std::memory_order_relaxed); }

}  // namespace detail

namespace fast::internal_s8 {
namespace {

// Output pixels per thread below which another thread is not worth a fork.
constexpr Index kMinPixelsPerThread = 2 * detail::kConvC1Pixels;

[[maybe_unused]] int KPadded4(const Conv2dParams& p) { return (p.kernel_h * p.kernel_w + 3) / 4 * 4; }

// One thread's scratch in int16, a multiple of 32 (64 bytes).
std::size_t ThreadInt16(const Conv2dParams& p) {
  const auto bytes = static_cast<std::size_t>(detail::ConvS8C1ScratchBytes(p));
  return (bytes + 63) / 64 * 32;
}

}  // namespace

bool IsConvS8C1(const Conv2dParams& p) { return detail::IsConvC1(p) && p.out_c > 1; }

std::size_t ConvS8C1ScratchInt16(const PreparedConv2dS8& pp, int threads) {
  return ThreadInt16(pp.shape) * static_cast<std::size_t>(std::max(threads, 1));
}

bool RunConvS8C1(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
                 const std::int8_t* x, const std::int32_t* bias, std::int8_t* y) {
  const Conv2dParams& p = pp.shape;
  if (!IsConvS8C1(p) || detail::ConvC1DisabledForTesting()) return false;
  const detail::ConvS8C1Fn fn = detail::ActiveConvS8C1();
  if (fn == nullptr) return false;
  QUALM_DCHECK(w.layout == PackedS8Weights::Layout::kPanels && w.k_padded4 == KPadded4(p) &&
               w.zp_in == pp.input_zero_point && !w.data_u8s8.empty());
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_int16 >= ConvS8C1ScratchInt16(pp, ctx.threads));
  const Index M = Index{p.batch} * p.out_h() * p.out_w();
  detail::ConvS8C1Tile t;
  t.shape = &p;
  t.zp_in = pp.input_zero_point;
  t.w = w.data_u8s8.data();
  t.k_padded4 = w.k_padded4;
  t.col_offset = w.col_offset.data();
  t.out = MakeOutputStage(pp.output, bias);
  t.x = x;
  t.y = y;
  const Index blocks = (M + detail::kConvC1Pixels - 1) / detail::kConvC1Pixels;
  const double work = static_cast<double>(M) * p.out_c * p.kernel_h * p.kernel_w;
  const int nt = static_cast<int>(
      std::max<Index>(1, std::min<Index>(ThreadsForWork(ctx.threads, work), M / kMinPixelsPerThread)));
  const std::size_t stride = ThreadInt16(p);
  auto run = [&](int tid) {
    detail::ConvS8C1Tile mine = t;
    mine.pix0 = std::min(M, blocks * tid / nt * detail::kConvC1Pixels);
    mine.pix1 = std::min(M, blocks * (tid + 1) / nt * detail::kConvC1Pixels);
    mine.scratch = reinterpret_cast<std::uint8_t*>(ctx.scratch + static_cast<std::size_t>(tid) * stride);
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

}  // namespace fast::internal_s8
}  // namespace qualm::kernels
