// qualm/kernels/qlinear_matmul_s8.h: int8 matrix product with asymmetric
// weights (ONNX QLinearMatMul). The family's contract (order of operations,
// zero points, the exact int32 overflow check) is qlinear_quant.h's.
//
// Layouts:
//   a int8 [batch][m][k]                  (the activations)
//   b int8 [batch][k][n], or one [k][n] shared by every batch (shared_b):
//     ONNX's layout, NOT dense_s8's transposed [out][in]
//   y int8 [batch][m][n]
// The "output channel" c is the column j of B. Prepare's messages name the op
// "qlinear_matmul_s8".
#pragma once

#include <cstdint>

#include "qualm/kernels/qlinear_quant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct QLinearMatMulShape {
  int batch = 1;          // independent products
  int m = 1, k = 1, n = 1;
  bool shared_b = false;  // true: one B [k][n] for every batch (ONNX broadcast of a 2-D B)
};
struct QLinearMatMulS8Params {
  QLinearMatMulShape shape;
  QLinearQuant quant;  // weights = B, channels = its n columns
};
struct PreparedQLinearMatMulS8 {
  QLinearMatMulShape shape;
  PreparedQLinearQuant quant;
};
Result<PreparedQLinearMatMulS8> PrepareQLinearMatMulS8(const QLinearMatMulS8Params& p, const std::int8_t* b,
                                                       const std::int32_t* bias);

namespace ref {
void qlinear_matmul_s8(const PreparedQLinearMatMulS8& p, const std::int8_t* a, const std::int8_t* b,
                       const std::int32_t* bias, std::int8_t* y);
}  // namespace ref

}  // namespace qualm::kernels
