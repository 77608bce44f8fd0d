// qualm/kernels/batchnorm.h: batch normalization over the last (channel) axis.
//
// x and y are [rows][channels] where rows = batch * spatial (NHWC flattened).
// Training: batch mean and biased variance per channel (two-pass, fixed order),
// y = (x - mean) * invstd * gamma + beta with invstd = 1 / sqrt(var + eps);
// running statistics updated as running = (1 - momentum) * running + momentum * batch,
// using the unbiased variance for running_var (PyTorch convention).
// Inference: the same formula with running statistics.
// Backward (training statistics) accumulates (+=) into dx, dgamma, dbeta; the
// inference backward (running statistics, constants of the function) too.
#pragma once

#include "qualm/kernels/context.h"

namespace qualm::kernels {

struct BatchNormParams {
  int rows = 1, channels = 1;
  float epsilon = 1e-5f;
  float momentum = 0.1f;
};

namespace ref {
void batchnorm_inference_f32(const BatchNormParams& p, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y);
// saved_mean / saved_invstd [channels] are outputs kept for the backward pass.
void batchnorm_training_f32(const BatchNormParams& p, const float* x, const float* gamma, const float* beta,
                            float* y, float* saved_mean, float* saved_invstd, float* running_mean,
                            float* running_var);
void batchnorm_backward_f32(const BatchNormParams& p, const float* x, const float* gamma,
                            const float* saved_mean, const float* saved_invstd, const float* dy, float* dx,
                            float* dgamma, float* dbeta);
// The gradient of batchnorm_inference_f32 (the running statistics are constants):
// dx += dy * gamma * invstd, dgamma += sum dy * xhat, dbeta += sum dy.
void batchnorm_inference_backward_f32(const BatchNormParams& p, const float* x, const float* gamma,
                                      const float* running_mean, const float* running_var, const float* dy,
                                      float* dx, float* dgamma, float* dbeta);
}  // namespace ref

// Fast paths (fast/norm_eltwise_f32*.cpp): the same contracts and arguments,
// bit-identical to the ref:: functions above on every ISA and thread count
// (vector lanes span channels, each channel's sums run over rows in the
// reference's order; detail/norm_eltwise_f32_variants.h). They run on the
// calling thread (ctx.threads is reserved), use no scratch and never allocate.
namespace fast {
void batchnorm_inference_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                             const float* beta, const float* running_mean, const float* running_var, float* y);
void batchnorm_training_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                            const float* beta, float* y, float* saved_mean, float* saved_invstd, float* running_mean,
                            float* running_var);
// dx_out picks how dx is written (context.h); dgamma and dbeta are always accumulated.
void batchnorm_backward_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x, const float* gamma,
                            const float* saved_mean, const float* saved_invstd, const float* dy, float* dx,
                            float* dgamma, float* dbeta, GradOut dx_out = GradOut::kAccumulate);
void batchnorm_inference_backward_f32(const KernelContext& ctx, const BatchNormParams& p, const float* x,
                                      const float* gamma, const float* running_mean, const float* running_var,
                                      const float* dy, float* dx, float* dgamma, float* dbeta,
                                      GradOut dx_out = GradOut::kAccumulate);
}  // namespace fast

}  // namespace qualm::kernels
