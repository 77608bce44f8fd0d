// gemm_f32 compiled for the x86-64 baseline (SSE2): the path used when AVX2 is
// not available or QUALM_ISA=scalar. The body is fast/gemm_body.h.
#define Eigen qualm_eigen_generic
#define QUALM_GEMM_FN gemm_f32_eigen__generic
#include "fast/gemm_body.h"
