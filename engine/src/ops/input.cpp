// The graph's input (InputOp): one sample's shape and type come from the Model.
// The executors handle node 0 themselves (they copy or quantize the caller's
// input into it), so the op has no executor factories.
#include "../op_table.h"
#include "qualm/kernels/checked.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 0));
  if (in.model.input_shape.empty()) return InvalidArgument("model has no input shape");
  // The input shape comes from a file: every dimension must be positive and
  // the sample must fit kMaxTensorElements before any op casts a dimension to
  // int (ToConvParams) or multiplies dimensions unchecked.
  for (std::int64_t d : in.model.input_shape)
    if (d <= 0)
      return InvalidArgument("input shape " + Shape(in.model.input_shape).ToString() + " has a dimension < 1");
  auto n = CheckedProduct(in.model.input_shape, kMaxTensorElements, "input shape");
  if (!n.ok()) return n.status();
  NodeShapes r;
  r.out = Shape(in.model.input_shape);
  r.int_out = in.model.input_type == SampleType::kInt32;
  return r;
}

// A float input is quantized at its calibrated params; token ids are not
// activations and have none.
Status Int8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  nq.has_output = in.model.input_type == SampleType::kFloat32;
  if (!nq.has_output) nq.output = kernels::QuantParams{};
  return Status::Ok();
}

}  // namespace

template <>
const OpEntry& OpEntryOf<InputOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.int8_rule = QUALM_ENGINE_ONLY(Int8Rule);
    return x;
  }();
  return e;
}

}  // namespace qualm
