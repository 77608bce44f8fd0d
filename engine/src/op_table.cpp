#include "op_table.h"

#include <type_traits>
#include <variant>

namespace qualm {

const OpEntry& EntryOf(const OpParams& op) {
  return std::visit([](const auto& o) -> const OpEntry& { return OpEntryOf<std::decay_t<decltype(o)>>(); }, op);
}

Status ExpectInputs(const InferInput& in, std::size_t count) {
  if (in.in.size() != count)
    return InvalidArgument(NodeWhere(in.node) + ": expects " + std::to_string(count) + " input(s), has " +
                           std::to_string(in.in.size()));
  return Status::Ok();
}

Status ExpectFloatInputs(const InferInput& in) {
  for (bool b : in.in_int)
    if (b) return InvalidArgument(NodeWhere(in.node) + ": expects float input, got token ids");
  return Status::Ok();
}

Status ExpectRank(const Node& n, const Shape& s, int rank, const char* what) {
  if (s.rank() != rank)
    return InvalidArgument(NodeWhere(n) + ": expects " + what + " input of rank " + std::to_string(rank) + ", got " +
                           s.ToString());
  return Status::Ok();
}

Result<NodeShapes> InferSameShape(const InferInput& in, std::size_t inputs) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, inputs));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  for (std::size_t k = 1; k < inputs; ++k)
    if (!(in.in[k] == in.in[0]))
      return InvalidArgument(NodeWhere(in.node) + ": input shapes differ: " + in.in[0].ToString() + " vs " +
                             in.in[k].ToString());
  NodeShapes r;
  r.out = in.in[0];
  return r;
}

Status KeepCalibratedParams(const Int8RuleInput&, NodeQuant&) { return Status::Ok(); }

void FillNormal(Tensor& t, float stddev, Rng& rng) {
  float* p = t.f32();
  for (std::int64_t i = 0; i < t.elements(); ++i) p[i] = rng.Normal() * stddev;
}

void FillUniform(Tensor& t, float bound, Rng& rng) {
  float* p = t.f32();
  for (std::int64_t i = 0; i < t.elements(); ++i) p[i] = rng.Uniform(-bound, bound);
}

}  // namespace qualm
