// Fast float dense (dense.h) via gemm_f32; needs no scratch.
//   y  = x * W^T (+ bias added row by row afterwards)
//   dx += dy * W,   dW += dy^T * x,   db += column sums of dy (row order)
#include <cstdint>

#include "qualm/kernels/dense.h"
#include "qualm/kernels/gemm.h"

namespace qualm::kernels::fast {
namespace {

GemmParams Gemm(bool ta, bool tb, int m, int n, int k, int lda, int ldb, int ldc, float beta) {
  GemmParams g;
  g.trans_a = ta, g.trans_b = tb, g.m = m, g.n = n, g.k = k, g.lda = lda, g.ldb = ldb, g.ldc = ldc, g.beta = beta;
  return g;
}

// y = x W^T, the GEMM of dense_f32 (b_packed: see gemm.h).
GemmParams ForwardGemm(const DenseParams& p) {
  const int B = p.batch, I = p.in_features, O = p.out_features;
  return Gemm(false, true, B, O, I, I, I, O, 0.0f);
}

void AddBias(const DenseParams& p, const float* bias, float* y) {
  if (!bias) return;
  const std::int64_t B = p.batch, O = p.out_features;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t o = 0; o < O; ++o) y[b * O + o] += bias[o];
}

}  // namespace

std::size_t dense_scratch_floats(const DenseParams& p, int threads) { return 0; }

void dense_f32(const KernelContext& ctx, const DenseParams& p, const float* x, const float* w,
               const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  gemm_f32(ForwardGemm(p), x, w, y, ctx.threads);
  AddBias(p, bias, y);
}

PackedGemmB PackDenseWeightsF32(const DenseParams& p, const float* w) { return PackGemmB(ForwardGemm(p), w); }

void dense_f32_prepacked(const KernelContext& ctx, const DenseParams& p, const PackedGemmB& packed, const float* x,
                         const float* w, const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  GemmParams g = ForwardGemm(p);
  if (packed.k == g.k && packed.n == g.n && !packed.data.empty()) {
    g.b_packed = packed.data.data();
    g.b_packed_nr = packed.nr;
  }
  gemm_f32(g, x, w, y, ctx.threads);
  AddBias(p, bias, y);
}

void dense_backward_f32(const KernelContext& ctx, const DenseParams& p, const float* x, const float* w,
                        const float* dy, float* dx, float* dw, float* db) {
  QUALM_DCHECK(Validate(p).ok());
  const int B = p.batch, I = p.in_features, O = p.out_features;
  if (dx) gemm_f32(Gemm(false, false, B, I, O, O, I, I, 1.0f), dy, w, dx, ctx.threads);
  if (dw) gemm_f32(Gemm(true, false, O, I, B, O, I, I, 1.0f), dy, x, dw, ctx.threads);
  if (db) {
    // Per output column a float sum from 0 in row order, added once (as the reference).
    for (std::int64_t o = 0; o < O; ++o) {
      float acc = 0.0f;
      for (std::int64_t b = 0; b < B; ++b) acc += dy[b * O + o];
      db[o] += acc;
    }
  }
}

}  // namespace qualm::kernels::fast
