#include "weights.h"

#include <cmath>
#include <cstring>

namespace qualm {
namespace {

template <typename T>
Tensor MakeTensor(DType dtype, const Shape& shape, const std::vector<T>& v) {
  Tensor t(dtype, shape);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

}  // namespace

Result<kernels::QuantizedWeightsS8> QuantizeRows(const Node& node, const Param& p, const Param* bias, float input_scale,
                                                 bool per_tensor) {
  const std::int64_t rows = p.value.shape()[0];
  const float* b = bias ? bias->value.f32() : nullptr;
  auto q = per_tensor ? kernels::QuantizeWeightsS8(1, p.value.elements(), p.value.f32(), nullptr, input_scale)
                      : kernels::QuantizeWeightsS8(static_cast<int>(rows), p.value.elements() / rows, p.value.f32(), b,
                                                   input_scale);
  if (!q.ok()) return q.status().WithContext(NodeWhere(node) + " " + p.name);
  if (per_tensor) {
    q->scales.assign(static_cast<std::size_t>(rows), q->scales[0]);
    if (b) {
      for (std::int64_t r = 0; r < rows; ++r) {
        if (!std::isfinite(b[r])) return InvalidArgument(NodeWhere(node) + " " + bias->name + ": non-finite bias");
        q->bias.push_back(kernels::QuantizeBiasS8(b[r], input_scale, q->scales[0]));
      }
    }
  }
  return q;
}

void AddWeights(NodeQuant& nq, const std::string& name, const Param& p, const kernels::QuantizedWeightsS8& q) {
  nq.constants.push_back({name, MakeTensor(DType::kI8, p.value.shape(), q.weights)});
  nq.constants.push_back({name + "_scale", MakeTensor(DType::kF32, Shape{p.value.shape()[0]}, q.scales)});
}

void AddBias(NodeQuant& nq, const std::string& name, const kernels::QuantizedWeightsS8& q) {
  nq.constants.push_back({name, MakeTensor(DType::kI32, Shape{static_cast<std::int64_t>(q.bias.size())}, q.bias)});
}


kernels::QuantParams HiddenStateParams() { return kernels::ChooseQuantParams(-1.0f, 1.0f, -128, 127).value(); }

}  // namespace qualm
