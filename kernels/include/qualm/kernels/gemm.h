// qualm/kernels/gemm.h: the float GEMM under the fast conv, dense and RNN paths.
//
// Row-major C[M][N] = alpha * op(A)[M][K] * op(B)[K][N] + beta * C, op = optional
// transpose. Backed by Eigen, compiled once per ISA (baseline x86-64 and
// AVX2+FMA) and dispatched at run time. Because Eigen may contract into FMA and
// blocks its reductions by cache size, the fast path is NOT bit-identical to the
// reference; it matches it within the tolerance stated in tests/kernels. For a
// given ISA and thread count it is deterministic (Eigen splits the output, not
// the reduction, across threads).
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
