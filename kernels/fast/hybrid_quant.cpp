// Dispatch of the dynamic per-sample quantization of the fast hybrid kernels
// (detail/hybrid_quant_variants.h): a best-first table resolved once against
// ActiveIsa() (so capped by QUALM_ISA), ending with the reference function.
#include <string>
#include <vector>

#include "internal/isa_dispatch.h"
#include "qualm/kernels/detail/hybrid_quant_variants.h"

namespace qualm::kernels::detail {
namespace {

DynamicQuant Reference(const float* x, std::int64_t n, std::int8_t* q) { return QuantizeSampleDynamic(x, n, q); }

}  // namespace

const std::vector<QuantizeSampleVariant>& QuantizeSampleVariants() {
  static const std::vector<QuantizeSampleVariant> table = {
      {Isa::kAvx2, "f32_qs8_dynamic_u8__avx2", &f32_qs8_dynamic_u8__avx2},
      {Isa::kScalar, "f32_qs8_dynamic_ref__generic", &Reference},
  };
  return table;
}

std::vector<QuantizeSampleVariant> RunnableQuantizeSampleVariants() {
  return internal::RunnableVariants(QuantizeSampleVariants());
}

const QuantizeSampleVariant& ActiveQuantizeSampleVariant() {
  static const QuantizeSampleVariant* chosen = [] {
    for (const QuantizeSampleVariant& v : QuantizeSampleVariants())
      if (IsaAvailable(v.isa)) return &v;
    return &QuantizeSampleVariants().back();
  }();
  return *chosen;
}

std::string DescribeQuantizeSampleDispatch() {
  return internal::DescribeDispatch<QuantizeSampleVariant>(QuantizeSampleVariants(), nullptr);
}

}  // namespace qualm::kernels::detail
