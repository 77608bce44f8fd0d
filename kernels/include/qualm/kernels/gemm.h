// qualm/kernels/gemm.h: the float GEMM under the fast conv, dense and RNN paths.
//
// Row-major C[M][N] = alpha * op(A)[M][K] * op(B)[K][N] + beta * C, op = optional
// transpose; qualm's own kernels (no Eigen), one per ISA (AVX-512F, AVX2+FMA,
// x86-64 baseline), dispatched at run time (detail/gemm_variants.h).
//
// Determinism contract (the same bits on every ISA, vector width, blocking and
// thread count): each output element is computed as
//     acc = 0; for k = 0 .. K-1: acc = fma(op(A)[i][k], op(B)[k][j], acc)
//     if (alpha != 1) acc = alpha * acc
//     C = acc (beta == 0: C is not read, it may hold NaN)
//     C = C + acc (beta == 1),  C = beta * C + acc (otherwise; two roundings)
// with fma a single rounding (vfmadd on AVX2 / AVX-512, std::fma on the
// baseline). K == 0 or alpha == 0: acc = 0 and A, B are not read. Vector
// lanes span output columns, never k; K blocking reloads the float
// accumulator; threads split the outputs. Not bit-identical to the reference
// kernels (which round each product); within the tolerance of tests/kernels.
//
// Never allocates: B is packed into a static thread-local buffer.
#pragma once

namespace qualm::kernels {

struct GemmParams {
  bool trans_a = false, trans_b = false;
  int m = 1, n = 1, k = 1;
  int lda = 0, ldb = 0, ldc = 0;  // leading dimensions (row strides) as stored
  float alpha = 1.0f, beta = 0.0f;
};

void gemm_f32(const GemmParams& p, const float* a, const float* b, float* c, int threads);
// Which ISA the dispatcher picked for gemm_f32.
const char* GemmPathName();

}  // namespace qualm::kernels
