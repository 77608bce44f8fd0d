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

#include <cstddef>
#include <vector>

namespace qualm::kernels {

struct GemmParams {
  bool trans_a = false, trans_b = false;
  int m = 1, n = 1, k = 1;
  int lda = 0, ldb = 0, ldc = 0;  // leading dimensions (row strides) as stored
  float alpha = 1.0f, beta = 0.0f;
  // Optional: op(B) already in the variant's panel layout (PackGemmB), for a
  // B that many calls share (an inference executor's weights). Used only when
  // it was packed for the panel width of the variant that runs and the call
  // does not split its columns between threads; otherwise b is packed as
  // always. Either way the same bits: the panels hold the same values.
  const float* b_packed = nullptr;
  int b_packed_nr = 0;
};

void gemm_f32(const GemmParams& p, const float* a, const float* b, float* c, int threads);

// op(B) of p (p.k x p.n, from b as p.trans_b / p.ldb say) packed once for the
// variant gemm_f32 runs now: for each block of kNc columns, for each block of
// kKc rows of K, the driver's kKc x nr panels (fast/gemm_f32_driver.h), so a
// call reads them where it would have packed. Point GemmParams::b_packed at
// data and set b_packed_nr = nr.
struct PackedGemmB {
  std::vector<float> data;
  int nr = 0;        // panel width of the variant it was packed for (0: empty)
  int k = 0, n = 0;  // the op(B) it holds
};
PackedGemmB PackGemmB(const GemmParams& p, const float* b);
// The same packing into caller memory, for a kernel that packs a B once per
// call into its scratch (the RNNs' W_h, used by every step): at most
// PackedGemmBFloats(p) floats (an upper bound over every variant). Returns the
// panel width to put in GemmParams::b_packed_nr (0: nothing packed).
std::size_t PackedGemmBFloats(const GemmParams& p);
int PackGemmBInto(const GemmParams& p, const float* b, float* out);
// Which ISA the dispatcher picked for gemm_f32.
const char* GemmPathName();

}  // namespace qualm::kernels
