// Frozen scalar reference for dense (dense.h), forward and backward.
//
// Reduction order:
//  * y[b][o]  = (sum over i of x[b][i] * w[o][i], from 0.0f in index order) + bias[o]
//  * dx[b][i] += sum over o of dy[b][o] * w[o][i], from 0.0f in index order
//  * dw[o][i] += sum over b of dy[b][o] * x[b][i], from 0.0f in index order
//  * db[o]    += sum over b of dy[b][o], from 0.0f in index order
#include <cstdint>

#include "qualm/kernels/dense.h"

namespace qualm::kernels::ref {

using Index = std::int64_t;

void dense_f32(const DenseParams& p, const float* x, const float* w, const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  const Index in = p.in_features, out = p.out_features;
  for (Index b = 0; b < p.batch; ++b) {
    for (Index o = 0; o < out; ++o) {
      float acc = 0.0f;
      for (Index i = 0; i < in; ++i) acc += x[b * in + i] * w[o * in + i];
      y[b * out + o] = bias ? acc + bias[o] : acc;
    }
  }
}

void dense_backward_f32(const DenseParams& p, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db) {
  QUALM_DCHECK(Validate(p).ok());
  const Index in = p.in_features, out = p.out_features;
  if (dx) {
    for (Index b = 0; b < p.batch; ++b) {
      for (Index i = 0; i < in; ++i) {
        float acc = 0.0f;
        for (Index o = 0; o < out; ++o) acc += dy[b * out + o] * w[o * in + i];
        dx[b * in + i] += acc;
      }
    }
  }
  if (dw) {
    for (Index o = 0; o < out; ++o) {
      for (Index i = 0; i < in; ++i) {
        float acc = 0.0f;
        for (Index b = 0; b < p.batch; ++b) acc += dy[b * out + o] * x[b * in + i];
        dw[o * in + i] += acc;
      }
    }
  }
  if (db) {
    for (Index o = 0; o < out; ++o) {
      float acc = 0.0f;
      for (Index b = 0; b < p.batch; ++b) acc += dy[b * out + o];
      db[o] += acc;
    }
  }
}

}  // namespace qualm::kernels::ref
