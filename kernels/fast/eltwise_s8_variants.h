// fast/eltwise_s8_variants.h (private): the per-ISA variants behind the fast
// int8 elementwise-family kernels: fast::add_s8 and fast::rescale_s8
// (eltwise_s8.h), fast::quantize_s8 and fast::dequantize_s8 (quantize_s8.h),
// fast::max_pool2d_s8, fast::avg_pool2d_s8 and fast::global_avg_pool_s8
// (pool_s8.h). They are dispatched together (fast/eltwise_s8.cpp): one table,
// best first, each row one ISA's set of kernels, the last row the frozen
// reference. Every kernel has its reference's contract and signature and is
// bit-identical to it (tests/kernels/int8_eltwise_fast_test.cpp).
//
// Names (kernels/NAMING.md, `<types>_<op>_<tile>__<isa>`): elementwise tiles
// `u<n>` are n elements per loop step (XNNPACK's unroll), pooling tiles `<n>c`
// n channels per step, as the depthwise kernels. A row's name is
// `s8_eltwise__<isa>`, or `s8_eltwise_ref__generic` for the reference row.
#pragma once

#include <cstdint>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm::kernels::detail {

struct S8EltwiseVariant {
  Isa isa;
  const char* name;
  // count elements of a, b and y (p.count is the whole op's; a threaded call
  // runs a range of it per thread, fast::add_s8 with a context).
  void (*add)(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b, std::int8_t* y);
  void (*rescale)(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y);
  void (*quantize)(const QuantizeS8Params& p, const float* x, std::int8_t* y);
  void (*dequantize)(const QuantizeS8Params& p, const std::int8_t* x, float* y);
  void (*max_pool)(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
  void (*avg_pool)(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
  void (*global_avg_pool)(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y);
};

// Every variant, best first, ending with the reference.
const std::vector<S8EltwiseVariant>& S8EltwiseVariantTable();
// The dispatcher's choice, or the test override.
const S8EltwiseVariant& ActiveS8EltwiseVariant();

// AVX2 (fast/eltwise_s8_avx2.cpp, fast/pool_s8_avx2.cpp).
void s8_add_u32__avx2(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                      std::int8_t* y);
void s8_rescale_u32__avx2(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y);
void s8_quantize_u32__avx2(const QuantizeS8Params& p, const float* x, std::int8_t* y);
void s8_dequantize_u32__avx2(const QuantizeS8Params& p, const std::int8_t* x, float* y);
void s8_max_pool_32c__avx2(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void s8_avg_pool_32c__avx2(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void s8_global_avg_pool_32c__avx2(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y);

// AVX-512 (fast/eltwise_s8_avx512.cpp): the add in 16 int32 lanes without the
// table in kGemmlowp mode (the AVX2 add otherwise); the row's other kernels
// are the AVX2 ones.
void s8_add_u16__avx512(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                        std::int8_t* y);

}  // namespace qualm::kernels::detail
