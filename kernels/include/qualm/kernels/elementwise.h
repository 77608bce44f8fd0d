// qualm/kernels/elementwise.h: ReLU, ReLU6, residual add, accumulate, dropout mask apply.
// Gradients are accumulated (+=).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/context.h"

namespace qualm::kernels::ref {

void relu_f32(std::size_t n, const float* x, float* y);
// dx += dy where x > 0.
void relu_backward_f32(std::size_t n, const float* x, const float* dy, float* dx);
// y = min(max(x, 0), 6)
void relu6_f32(std::size_t n, const float* x, float* y);
void relu6_backward_f32(std::size_t n, const float* x, const float* dy, float* dx);
// y = a + b
void add_f32(std::size_t n, const float* a, const float* b, float* y);
// dst += src
void accumulate_f32(std::size_t n, const float* src, float* dst);
// y = x * mask * scale (mask holds 0/1 bytes; inverted dropout, scale = 1/(1-p)).
void dropout_apply_f32(std::size_t n, const float* x, const std::uint8_t* mask, float scale, float* y);
// dx += dy * mask * scale
void dropout_backward_f32(std::size_t n, const float* dy, const std::uint8_t* mask, float scale, float* dx);

}  // namespace qualm::kernels::ref

// Fast paths of the four ops training runs most (fast/norm_eltwise_f32*.cpp):
// the same contracts, bit-identical to ref:: (each output element is the
// reference's expression on its own inputs), vectorized per ISA, on the
// calling thread (ctx.threads is reserved). No scratch, no allocation.
namespace qualm::kernels::fast {
void relu_f32(const KernelContext& ctx, std::size_t n, const float* x, float* y);
// dx_out picks how dx is written (context.h).
void relu_backward_f32(const KernelContext& ctx, std::size_t n, const float* x, const float* dy, float* dx,
                       GradOut dx_out = GradOut::kAccumulate);
void add_f32(const KernelContext& ctx, std::size_t n, const float* a, const float* b, float* y);
void accumulate_f32(const KernelContext& ctx, std::size_t n, const float* src, float* dst);
}  // namespace qualm::kernels::fast
