// gemm_f32 compiled with AVX2 + FMA (this file gets -mavx2 -mfma -mf16c from
// qualm_isa_sources in kernels/CMakeLists.txt). The body is fast/gemm_body.h.
#define Eigen qualm_eigen_avx2
#define QUALM_GEMM_FN gemm_f32_eigen__avx2
#include "fast/gemm_body.h"
