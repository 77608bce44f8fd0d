// engine/src/ops/recurrent_rules.h (internal): what lstm and gru share in the
// op table.
#pragma once

#include <cmath>
#include <variant>

#include "../op_table.h"

namespace qualm {

// [T, features] -> [T, hidden] (return_sequences) or [hidden]; parameters
// w_x [gates * hidden, features], w_h [gates * hidden, hidden], then the
// op's biases ("bias" for the LSTM, "b_x" and "b_h" for the GRU).
template <typename Op>
Result<NodeShapes> InferRecurrent(const InferInput& in, std::int64_t gates, std::vector<const char*> biases) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  const auto& op = std::get<Op>(in.node.op);
  const Shape& s = in.in[0];
  QUALM_RETURN_IF_ERROR(ExpectRank(in.node, s, 2, "[T, features]"));
  if (op.hidden <= 0) return InvalidArgument(NodeWhere(in.node) + ": hidden must be positive");
  const std::int64_t h = op.hidden;
  NodeShapes r;
  r.out = op.return_sequences ? Shape{s[0], h} : Shape{h};
  r.params.push_back({"w_x", Shape{gates * h, s[1]}, true});
  r.params.push_back({"w_h", Shape{gates * h, h}, true});
  for (const char* b : biases) r.params.push_back({b, Shape{gates * h}, true});
  return r;
}

// Every parameter uniform in +-1/sqrt(hidden), in parameter order.
template <typename Op>
void InitializeRecurrent(Node& node, Rng& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(std::get<Op>(node.op).hidden));
  for (auto& p : node.params) FillUniform(p.value, bound, rng);
}

}  // namespace qualm
