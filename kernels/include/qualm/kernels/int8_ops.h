// qualm/kernels/int8_ops.h: umbrella header for the int8 inference ops.
//
// Every op follows the same pattern (TFLite Micro's Prepare / Eval split):
//   1. fill a named parameter struct (<Op>S8Params: float shape struct + quantization),
//   2. Prepare<Op>S8(params[, weights, bias]) -> Result<Prepared<Op>S8>: validates
//      everything once and precomputes the per-channel Requant (requant.h),
//   3. ref::<op>_s8(prepared, inputs..., output): never validates, never allocates
//      (fast::conv2d_s8 / fast::dense_s8 likewise, on packed weights).
// The integer arithmetic contract is requant.h; each header states its order of
// operations and which requant.h function does the rounding.
#pragma once

#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/qlinear_conv_s8.h"
#include "qualm/kernels/qlinear_matmul_s8.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/recurrent_hybrid.h"
#include "qualm/kernels/recurrent_s8.h"
#include "qualm/kernels/requant.h"
