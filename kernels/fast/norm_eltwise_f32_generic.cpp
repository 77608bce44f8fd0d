// Fast float batch-norm and elementwise kernels for the x86-64 baseline: the
// bodies of fast/norm_eltwise_f32_body.h on one float per "vector" (4 channels
// per row step, accumulators in registers). The same expressions as the
// reference, so the same bits; it differs from ref:: only in memory order
// and in being threaded by the dispatcher.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

struct Generic {
  using V = float;
  static constexpr int kW = 1;
  static V Zero() { return 0.0f; }
  static V Load(const float* p) { return *p; }
  static void Store(float* p, V v) { *p = v; }
  static V LoadN(const float* p, int) { return *p; }  // never partial: kW == 1
  static void StoreN(float* p, V v, int) { *p = v; }
  static V Add(V a, V b) { return a + b; }
  static V Sub(V a, V b) { return a - b; }
  static V Mul(V a, V b) { return a * b; }
  static V PositiveOr0(V x, V v) { return x > 0.0f ? v : 0.0f; }
};

#include "fast/norm_eltwise_f32_body.h"

}  // namespace

NormEltwiseF32Variant NormEltwiseF32Generic() {
  return body::MakeVariant<Generic>(Isa::kScalar, "f32_norm_eltwise_1c__generic");
}

}  // namespace qualm::kernels::detail
