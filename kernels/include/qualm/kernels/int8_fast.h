// qualm/kernels/int8_fast.h: umbrella for the fast int8 path, kept for the
// files that include it. The declarations live with their ops (op-major layout,
// kernels/NAMING.md): fast::conv2d_s8 in conv2d_s8.h, fast::dense_s8 in
// dense_s8.h, the packed weights and Int8GemmPathName() in int8_gemm.h,
// KernelContextS8 in context.h. New code includes those headers.
#pragma once

#include "qualm/kernels/context.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"
