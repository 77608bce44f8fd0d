// qualm/kernels/detail/norm_eltwise_f32_variants.h: the per-ISA variants behind
// the fast float training kernels of batchnorm.h and elementwise.h
// (fast::batchnorm_*_f32, fast::relu_f32, ...), exposed for tests and
// benchmarks only. Engine code calls the fast:: entry points.
//
// Why these are bit-identical to the frozen references (ref/batchnorm.cpp,
// ref/elementwise.cpp) on every ISA and thread count: the data is
// [rows][channels] (NHWC flattened), so vector lanes span channels and each
// lane runs one channel's float sum over rows 0, 1, 2, ... from 0.0f, exactly
// the reference's order; every other operation is elementwise with the
// reference's expression, one IEEE rounding per operation (-ffp-contract=off
// and no FMA intrinsics, so a*b+c stays two roundings). They run on the
// calling thread (fast/norm_eltwise_f32.cpp says why). The per-channel scalar steps (mean, invstd, running
// statistics) are done once in fast/norm_eltwise_f32.cpp with the reference's
// expressions.
//
// A row is one ISA's set of "row-range" kernels. The column kernels work on a
// window of nc <= kMaxNormChannels channels of a [rows][ld] array (pointers
// already offset to the window's first channel); per-channel arrays are
// indexed from the window's first channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"

namespace qualm::kernels::detail {

// Channels per window: the per-channel arrays of one window live on the stack
// of the dispatcher (as the reference's kBlock; it does not change arithmetic).
constexpr int kMaxNormChannels = 64;

struct NormRows {
  std::int64_t r0 = 0, r1 = 0;  // rows [r0, r1)
  std::int64_t ld = 1;          // floats between two rows
  int nc = 1;                   // channels in the window
};

struct NormEltwiseF32Variant {
  Isa isa;
  const char* name;
  // acc[j] += x[r][j] for r in [r0, r1), in row order.
  void (*sum)(const NormRows& w, const float* x, float* acc);
  // acc[j] += (x[r][j] - mean[j])^2, in row order.
  void (*sum_sq_dev)(const NormRows& w, const float* x, const float* mean, float* acc);
  // xhat = (x - mean) * invstd; sum_dy[j] += dy, sum_dyx[j] += dy * xhat, in row order.
  void (*sum_dy_dyx)(const NormRows& w, const float* x, const float* dy, const float* mean, const float* invstd,
                     float* sum_dy, float* sum_dyx);
  // y = ((x - mean) * invstd) * g + b.
  void (*affine)(const NormRows& w, const float* x, const float* mean, const float* invstd, const float* g,
                 const float* b, float* y);
  // dx += k * ((dy - mean_dy) - ((x - mean) * invstd) * mean_dyx).
  void (*bn_dx)(const NormRows& w, const float* x, const float* dy, const float* mean, const float* invstd,
                const float* k, const float* mean_dy, const float* mean_dyx, float* dx);
  // dx += dy * k.
  void (*scale_acc)(const NormRows& w, const float* dy, const float* k, float* dx);
  // The same three gradients with dx = 0.0f + term (GradOut::kAssign).
  void (*bn_dx_assign)(const NormRows& w, const float* x, const float* dy, const float* mean, const float* invstd,
                       const float* k, const float* mean_dy, const float* mean_dyx, float* dx);
  void (*scale_assign)(const NormRows& w, const float* dy, const float* k, float* dx);
  void (*relu_backward_assign)(std::size_t n, const float* x, const float* dy, float* dx);
  // The elementwise ops of elementwise.h, on n contiguous floats.
  void (*relu)(std::size_t n, const float* x, float* y);
  void (*relu_backward)(std::size_t n, const float* x, const float* dy, float* dx);
  void (*add)(std::size_t n, const float* a, const float* b, float* y);
  void (*accumulate)(std::size_t n, const float* src, float* dst);
};

// Every variant, best first, ending with the x86-64 baseline.
const std::vector<NormEltwiseF32Variant>& NormEltwiseF32Variants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<NormEltwiseF32Variant> RunnableNormEltwiseF32Variants();
// The dispatcher's choice, or the test override.
const NormEltwiseF32Variant& ActiveNormEltwiseF32Variant();
const char* NormEltwiseF32PathName();
std::string DescribeNormEltwiseF32Dispatch();

// Test-only hook, as ScopedGemmIsaForTesting: while alive, the fast:: entry
// points run the variant for `isa`; ok() is false (nothing changes) if the
// CPU cannot run it.
class ScopedNormEltwiseF32IsaForTesting {
 public:
  explicit ScopedNormEltwiseF32IsaForTesting(Isa isa);
  ~ScopedNormEltwiseF32IsaForTesting();
  ScopedNormEltwiseF32IsaForTesting(const ScopedNormEltwiseF32IsaForTesting&) = delete;
  ScopedNormEltwiseF32IsaForTesting& operator=(const ScopedNormEltwiseF32IsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const NormEltwiseF32Variant* previous_ = nullptr;
};

// Per-ISA rows (fast/norm_eltwise_f32_<isa>.cpp).
NormEltwiseF32Variant NormEltwiseF32Avx512();
NormEltwiseF32Variant NormEltwiseF32Avx2();
NormEltwiseF32Variant NormEltwiseF32Generic();

}  // namespace qualm::kernels::detail
