// fast/gemm_body.h: the body of gemm_f32, included once per ISA translation
// unit (gemm_generic.cpp, gemm_avx2.cpp) which differ only in compile flags and
// in the two macros they define first:
//   QUALM_GEMM_FN  the name of the variant function to define (detail::gemm_f32_*)
//   Eigen          renamed to a per-ISA namespace (e.g. qualm_eigen_avx2).
// Renaming Eigen's namespace matters: Eigen is header-only, so both TUs would
// otherwise emit identically named template instantiations compiled with
// different -m flags, and the linker would keep one of them for both paths (an
// ODR violation that can put AVX2 code on the baseline path). With the rename,
// each TU's Eigen symbols are distinct.
//
// Threading: Eigen's own OpenMP parallelization is disabled
// (EIGEN_DONT_PARALLELIZE); instead C is split into `threads` contiguous blocks
// of rows (or columns, whichever dimension is larger), block boundaries
// rounded to 16, each computed by a single-threaded Eigen product. The split
// depends only on the shape and `threads`, and each block's arithmetic only on
// its own shape, so a fixed thread count gives the same bits on every run.
// The reduction (k) is never split.
#ifndef QUALM_GEMM_FN
#error "define QUALM_GEMM_FN before including gemm_body.h"
#endif

#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>

#include "qualm/kernels/detail/gemm_variants.h"
#include "qualm/status.h"

namespace qualm::kernels::detail {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajorF, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMajorF, Eigen::Unaligned, Eigen::OuterStride<>>;

// C[m0:m1, n0:n1] = alpha * op(A)[m0:m1, :] * op(B)[:, n0:n1] + beta * C[...], one thread.
void GemmBlock(const GemmParams& p, const float* a, const float* b, float* c, int m0, int m1, int n0, int n1) {
  const Eigen::Index m = m1 - m0, n = n1 - n0, k = p.k;
  MutMap C(c + static_cast<std::ptrdiff_t>(m0) * p.ldc + n0, m, n, Eigen::OuterStride<>(p.ldc));
  // BLAS semantics: beta == 0 means C is not read (it may hold NaN).
  if (p.beta == 0.0f) C.setZero();
  else if (p.beta != 1.0f) C *= p.beta;
  if (p.alpha == 0.0f || k == 0) return;
  // op(A) rows m0.. are A rows m0.. (no transpose) or A columns m0.. (transpose).
  const float* ab = p.trans_a ? a + m0 : a + static_cast<std::ptrdiff_t>(m0) * p.lda;
  const float* bb = p.trans_b ? b + static_cast<std::ptrdiff_t>(n0) * p.ldb : b + n0;
  const Eigen::OuterStride<> sa(p.lda), sb(p.ldb);
  if (!p.trans_a && !p.trans_b) {
    C.noalias() += p.alpha * ConstMap(ab, m, k, sa) * ConstMap(bb, k, n, sb);
  } else if (p.trans_a && !p.trans_b) {
    C.noalias() += p.alpha * ConstMap(ab, k, m, sa).transpose() * ConstMap(bb, k, n, sb);
  } else if (!p.trans_a && p.trans_b) {
    C.noalias() += p.alpha * ConstMap(ab, m, k, sa) * ConstMap(bb, n, k, sb).transpose();
  } else {
    C.noalias() += p.alpha * ConstMap(ab, k, m, sa).transpose() * ConstMap(bb, n, k, sb).transpose();
  }
}

// Below this many multiply-adds per thread (~10-20 us of work) a fork/join
// costs more than it saves.
constexpr double kMinMacsPerThread = 256.0 * 1024;
constexpr int kSplitAlign = 16;

}  // namespace

void QUALM_GEMM_FN(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  QUALM_DCHECK(p.m >= 0 && p.n >= 0 && p.k >= 0);
  QUALM_DCHECK(p.ldc >= p.n);
  QUALM_DCHECK(p.lda >= (p.trans_a ? p.m : p.k) && p.ldb >= (p.trans_b ? p.k : p.n));
  if (p.m == 0 || p.n == 0) return;
  const double macs = static_cast<double>(p.m) * p.n * p.k;
  const bool split_m = p.m >= p.n;
  const int extent = split_m ? p.m : p.n;
  int blocks = threads < 1 ? 1 : threads;
  while (blocks > 1 && (macs / blocks < kMinMacsPerThread || extent < blocks * kSplitAlign)) --blocks;
  if (blocks == 1) {
    GemmBlock(p, a, b, c, 0, p.m, 0, p.n);
    return;
  }
  // Block i covers [edge(i), edge(i + 1)), edges rounded down to kSplitAlign.
  auto edge = [&](int i) {
    if (i == blocks) return extent;
    const long long e = static_cast<long long>(extent) * i / blocks;
    return static_cast<int>(e - e % kSplitAlign);
  };
#pragma omp parallel for num_threads(blocks) schedule(static, 1)
  for (int i = 0; i < blocks; ++i) {
    const int lo = edge(i), hi = edge(i + 1);
    if (split_m) GemmBlock(p, a, b, c, lo, hi, 0, p.n);
    else GemmBlock(p, a, b, c, 0, p.m, lo, hi);
  }
}

}  // namespace qualm::kernels::detail
