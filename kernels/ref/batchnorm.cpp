// Frozen scalar reference for batch normalization over the channel axis
// (batchnorm.h). Data is [rows][channels]; statistics are per channel.
//
// Order: channels are processed in blocks of kBlock with per-channel float
// accumulators on the stack, rows visited in index order, so each channel's
// sums are plain float sums from 0.0f in row order (the blocking changes
// memory traffic, not arithmetic).
//   mean   = (sum x) / rows
//   var    = (sum (x - mean)^2) / rows            (two-pass, biased)
//   invstd = 1 / sqrt(var + eps)
//   y      = ((x - mean) * invstd) * gamma + beta
//   running_var uses sum (x - mean)^2 / (rows - 1); with rows == 1 (no unbiased
//   estimate exists) it uses the biased variance.
// Backward with the saved batch statistics, xhat = (x - mean) * invstd:
//   dbeta  += sum dy,  dgamma += sum dy * xhat
//   dx     += (gamma * invstd) * ((dy - mean(dy)) - xhat * mean(dy * xhat))
// gamma / beta may be null (treated as 1 / 0), as may running_mean / running_var
// (not updated) and any of dx, dgamma, dbeta (not computed).
#include <cmath>
#include <cstdint>

#include "qualm/kernels/batchnorm.h"
#include "qualm/status.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;
constexpr Index kBlock = 64;

float Gamma(const float* gamma, Index c) { return gamma ? gamma[c] : 1.0f; }
float Beta(const float* beta, Index c) { return beta ? beta[c] : 0.0f; }

}  // namespace

void batchnorm_inference_f32(const BatchNormParams& p, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y) {
  const Index rows = p.rows, ch = p.channels;
  for (Index c0 = 0; c0 < ch; c0 += kBlock) {
    const Index nc = ch - c0 < kBlock ? ch - c0 : kBlock;
    float mean[kBlock], invstd[kBlock], g[kBlock], b[kBlock];
    for (Index j = 0; j < nc; ++j) {
      mean[j] = running_mean[c0 + j];
      invstd[j] = 1.0f / std::sqrt(running_var[c0 + j] + p.epsilon);
      g[j] = Gamma(gamma, c0 + j);
      b[j] = Beta(beta, c0 + j);
    }
    for (Index r = 0; r < rows; ++r) {
      const float* xp = x + r * ch + c0;
      float* yp = y + r * ch + c0;
      for (Index j = 0; j < nc; ++j) yp[j] = ((xp[j] - mean[j]) * invstd[j]) * g[j] + b[j];
    }
  }
}

void batchnorm_training_f32(const BatchNormParams& p, const float* x, const float* gamma, const float* beta,
                            float* y, float* saved_mean, float* saved_invstd, float* running_mean,
                            float* running_var) {
  const Index rows = p.rows, ch = p.channels;
  QUALM_DCHECK(rows > 0 && ch > 0);
  for (Index c0 = 0; c0 < ch; c0 += kBlock) {
    const Index nc = ch - c0 < kBlock ? ch - c0 : kBlock;
    float mean[kBlock], sq[kBlock], invstd[kBlock];
    for (Index j = 0; j < nc; ++j) mean[j] = 0.0f, sq[j] = 0.0f;
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < nc; ++j) mean[j] += x[r * ch + c0 + j];
    for (Index j = 0; j < nc; ++j) mean[j] /= static_cast<float>(rows);
    for (Index r = 0; r < rows; ++r) {
      for (Index j = 0; j < nc; ++j) {
        const float d = x[r * ch + c0 + j] - mean[j];
        sq[j] += d * d;
      }
    }
    for (Index j = 0; j < nc; ++j) {
      const float var = sq[j] / static_cast<float>(rows);
      invstd[j] = 1.0f / std::sqrt(var + p.epsilon);
      if (saved_mean) saved_mean[c0 + j] = mean[j];
      if (saved_invstd) saved_invstd[c0 + j] = invstd[j];
      if (running_mean) running_mean[c0 + j] = (1.0f - p.momentum) * running_mean[c0 + j] + p.momentum * mean[j];
      if (running_var) {
        const float unbiased = rows > 1 ? sq[j] / static_cast<float>(rows - 1) : var;
        running_var[c0 + j] = (1.0f - p.momentum) * running_var[c0 + j] + p.momentum * unbiased;
      }
    }
    float g[kBlock], b[kBlock];
    for (Index j = 0; j < nc; ++j) g[j] = Gamma(gamma, c0 + j), b[j] = Beta(beta, c0 + j);
    for (Index r = 0; r < rows; ++r) {
      const float* xp = x + r * ch + c0;
      float* yp = y + r * ch + c0;
      for (Index j = 0; j < nc; ++j) yp[j] = ((xp[j] - mean[j]) * invstd[j]) * g[j] + b[j];
    }
  }
}

void batchnorm_backward_f32(const BatchNormParams& p, const float* x, const float* gamma,
                            const float* saved_mean, const float* saved_invstd, const float* dy, float* dx,
                            float* dgamma, float* dbeta) {
  const Index rows = p.rows, ch = p.channels;
  const float n = static_cast<float>(rows);
  for (Index c0 = 0; c0 < ch; c0 += kBlock) {
    const Index nc = ch - c0 < kBlock ? ch - c0 : kBlock;
    float sum_dy[kBlock], sum_dyx[kBlock], mean[kBlock], invstd[kBlock];
    for (Index j = 0; j < nc; ++j) {
      sum_dy[j] = 0.0f, sum_dyx[j] = 0.0f;
      mean[j] = saved_mean[c0 + j], invstd[j] = saved_invstd[c0 + j];
    }
    for (Index r = 0; r < rows; ++r) {
      const float* xp = x + r * ch + c0;
      const float* dyp = dy + r * ch + c0;
      for (Index j = 0; j < nc; ++j) {
        const float xhat = (xp[j] - mean[j]) * invstd[j];
        sum_dy[j] += dyp[j];
        sum_dyx[j] += dyp[j] * xhat;
      }
    }
    for (Index j = 0; j < nc; ++j) {
      if (dbeta) dbeta[c0 + j] += sum_dy[j];
      if (dgamma) dgamma[c0 + j] += sum_dyx[j];
    }
    if (!dx) continue;
    float k[kBlock], mean_dy[kBlock], mean_dyx[kBlock];
    for (Index j = 0; j < nc; ++j) {
      k[j] = Gamma(gamma, c0 + j) * invstd[j];
      mean_dy[j] = sum_dy[j] / n;
      mean_dyx[j] = sum_dyx[j] / n;
    }
    for (Index r = 0; r < rows; ++r) {
      const float* xp = x + r * ch + c0;
      const float* dyp = dy + r * ch + c0;
      float* dxp = dx + r * ch + c0;
      for (Index j = 0; j < nc; ++j) {
        const float xhat = (xp[j] - mean[j]) * invstd[j];
        dxp[j] += k[j] * ((dyp[j] - mean_dy[j]) - xhat * mean_dyx[j]);
      }
    }
  }
}

// invstd is computed exactly as batchnorm_inference_f32 computes it.
void batchnorm_inference_backward_f32(const BatchNormParams& p, const float* x, const float* gamma,
                                      const float* running_mean, const float* running_var, const float* dy,
                                      float* dx, float* dgamma, float* dbeta) {
  const Index rows = p.rows, ch = p.channels;
  for (Index c0 = 0; c0 < ch; c0 += kBlock) {
    const Index nc = ch - c0 < kBlock ? ch - c0 : kBlock;
    float mean[kBlock], invstd[kBlock], k[kBlock], sum_dy[kBlock], sum_dyx[kBlock];
    for (Index j = 0; j < nc; ++j) {
      mean[j] = running_mean[c0 + j];
      invstd[j] = 1.0f / std::sqrt(running_var[c0 + j] + p.epsilon);
      k[j] = Gamma(gamma, c0 + j) * invstd[j];
      sum_dy[j] = 0.0f, sum_dyx[j] = 0.0f;
    }
    for (Index r = 0; r < rows; ++r) {
      const float* xp = x + r * ch + c0;
      const float* dyp = dy + r * ch + c0;
      for (Index j = 0; j < nc; ++j) {
        sum_dy[j] += dyp[j];
        sum_dyx[j] += dyp[j] * ((xp[j] - mean[j]) * invstd[j]);
        if (dx) dx[r * ch + c0 + j] += dyp[j] * k[j];
      }
    }
    for (Index j = 0; j < nc; ++j) {
      if (dbeta) dbeta[c0 + j] += sum_dy[j];
      if (dgamma) dgamma[c0 + j] += sum_dyx[j];
    }
  }
}

}  // namespace qualm::kernels::ref
