// Frozen scalar reference for int8 matrix product with asymmetric B
// (qlinear_matmul_s8.h, ONNX QLinearMatMul): Y[bt] = A[bt] B[bt] (or the shared B).
//
// Order of operations per output element (bt, i, j), loops nested bt, i, j, k:
//   acc = sum over k ascending of (int32(b[k][j]) - zp_b[j]) * (int32(a[i][k]) - zp_a)
//         (int32, exact: Prepare bounds every partial and biased sum)
//   acc += bias[j] (if bias)
//   y[i][j] = RequantizeToRange(acc, requant[j], mode, zp_y, act_min, act_max)  (requant.h,
//             the only rounding, per the prepared RequantMode).
// B is read in ONNX's [k][n] layout, column j with stride n: plain and slow on
// purpose. No intrinsics, no threads, no scratch, no validation, no allocation.
#include <cstddef>
#include <cstdint>

#include "qualm/kernels/qlinear_matmul_s8.h"

namespace qualm::kernels::ref {

void qlinear_matmul_s8(const PreparedQLinearMatMulS8& pp, const std::int8_t* a, const std::int8_t* b,
                       const std::int32_t* bias, std::int8_t* y) {
  using Index = std::int64_t;
  const QLinearMatMulShape& s = pp.shape;
  const PreparedQLinearQuant& q = pp.quant;
  QUALM_DCHECK(q.output.requant.size() == static_cast<std::size_t>(s.n));
  QUALM_DCHECK(q.weight_zero_points.size() == static_cast<std::size_t>(s.n));
  const Index m = s.m, k = s.k, n = s.n;
  const std::int32_t zp_a = q.input_zero_point;
  for (Index bt = 0; bt < s.batch; ++bt) {
    const std::int8_t* ab = a + bt * m * k;
    const std::int8_t* bb = b + (s.shared_b ? 0 : bt * k * n);
    std::int8_t* yb = y + bt * m * n;
    for (Index i = 0; i < m; ++i) {
      const std::int8_t* ai = ab + i * k;
      for (Index j = 0; j < n; ++j) {
        const std::int32_t zp_b = q.weight_zero_points[static_cast<std::size_t>(j)];
        std::int32_t acc = 0;
        for (Index t = 0; t < k; ++t)
          acc += (static_cast<std::int32_t>(bb[t * n + j]) - zp_b) * (static_cast<std::int32_t>(ai[t]) - zp_a);
        if (bias) acc += bias[j];
        yb[i * n + j] = RequantizeOutputS8(acc, q.output, static_cast<std::size_t>(j));
      }
    }
  }
}

}  // namespace qualm::kernels::ref
