#include "linear_rules.h"

#include <cmath>
#include <variant>

#include "../quant/weights.h"

namespace qualm {

void InitializeLinear(Node& node, Rng& rng) {
  Tensor& w = node.param("weight").value;
  const std::int64_t fan_in = w.elements() / w.shape()[0];
  FillNormal(w, std::sqrt(2.0f / static_cast<float>(fan_in)), rng);
  if (Param* b = node.FindParam("bias")) b->value.Zero();
}

void AbsorbAffineIntoRows(Node& node, const ChannelAffine& f) {
  const std::int64_t out_c = node.param("weight").value.shape()[0];
  // Add the bias before taking any reference into node.params: push_back may
  // move every parameter (ASan found the dangling reference this avoids).
  if (!node.FindParam("bias")) node.params.push_back(Param{"bias", Tensor(DType::kF32, Shape{out_c}), true});
  Tensor& w = node.param("weight").value;
  const std::int64_t per = w.elements() / out_c;
  float* wp = w.f32();
  float* bp = node.param("bias").value.f32();
  for (std::int64_t o = 0; o < out_c; ++o) {
    const auto k = static_cast<std::size_t>(o);
    for (std::int64_t i = 0; i < per; ++i)
      wp[o * per + i] = static_cast<float>(static_cast<double>(wp[o * per + i]) * f.scale[k]);
    bp[o] = static_cast<float>(static_cast<double>(bp[o]) * f.scale[k] + f.shift[k]);
  }
}

Status LinearInt8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  if (in.only_consumer && std::holds_alternative<ReluOp>(in.only_consumer->op)) nq.output = *in.only_consumer_value;
  const Param& weight = in.node.param("weight");
  const Param* bias = in.node.FindParam("bias");
  QUALM_ASSIGN_OR_RETURN(auto q, QuantizeRows(in.node, weight, bias, in.in->output.scale, in.options.per_tensor_weights));
  AddWeights(nq, "weight", weight, q);
  if (bias) AddBias(nq, "bias", q);
  return Status::Ok();
}

}  // namespace qualm
