// qualm/kernels/detail/hybrid_quant_variants.h: the per-ISA forms of
// QuantizeSampleDynamic (hybrid_quant.h) behind the fast hybrid dense / conv
// (fast/hybrid_rows.h), exposed for tests and benchmarks only.
//
// Every variant returns exactly what QuantizeSampleDynamic returns (params,
// finite, and every q) for every input: the min/max reduction is exact in any
// order, the parameters come from the same scalar DynamicRangeParams, and the
// per-element quantization is QuantizeValue(x, s, zp, -128, 127,
// kHalfAwayFromZero) lane by lane (the proof is at the top of each variant's
// file; tests/kernels/hybrid_quant_fast_test.cpp checks ties and random data
// with ==). A variant may only be called when its ISA is available.
//
// Naming (kernels/NAMING.md): f32_qs8_dynamic_u8__avx2 = float in, int8 out,
// per-sample dynamic parameters, 8 elements per step, AVX2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/hybrid_quant.h"

namespace qualm::kernels::detail {

using QuantizeSampleFn = DynamicQuant (*)(const float* x, std::int64_t n, std::int8_t* q);

// AVX2: 8 floats per step (vminps / vmaxps, vdivps, truncation plus an exact
// half-away-from-zero correction), scalar tails.
DynamicQuant f32_qs8_dynamic_u8__avx2(const float* x, std::int64_t n, std::int8_t* q);

struct QuantizeSampleVariant {
  Isa isa;
  const char* name;
  QuantizeSampleFn fn;
};

// Best first, ending with QuantizeSampleDynamic itself ("f32_qs8_dynamic_ref__generic").
const std::vector<QuantizeSampleVariant>& QuantizeSampleVariants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<QuantizeSampleVariant> RunnableQuantizeSampleVariants();
// The dispatcher's choice (resolved once).
const QuantizeSampleVariant& ActiveQuantizeSampleVariant();
// "f32_qs8_dynamic_u8__avx2: chosen; f32_qs8_dynamic_ref__generic: not needed" and the like.
std::string DescribeQuantizeSampleDispatch();

}  // namespace qualm::kernels::detail
