// engine/src/quant/constants.h (internal): looking up a node's quantized
// constants with the checks every executor needs before trusting them (a
// model file can hold any dtype and shape; the kernels read raw pointers).
#pragma once

#include <string>

#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

// The constant `name` of `q`, which must be `dtype` with `shape`.
inline Result<const Tensor*> FindConstant(const Node& node, const NodeQuant& q, const std::string& name, DType dtype,
                                          const Shape& shape) {
  const Tensor* t = q.Find(name);
  if (!t) return InvalidArgument(NodeWhere(node) + ": quantized constant '" + name + "' is missing");
  if (t->dtype() != dtype || !(t->shape() == shape))
    return InvalidArgument(NodeWhere(node) + ": quantized constant '" + name + "' is " + DTypeName(t->dtype()) + " " +
                           t->shape().ToString() + ", expects " + DTypeName(dtype) + " " + shape.ToString());
  return t;
}

// The shape of the float parameter `name` (empty when absent).
inline const Shape& FloatParamShape(const Node& n, const std::string& name) {
  static const Shape kNone;
  const Param* p = n.FindParam(name);
  return p ? p->value.shape() : kNone;
}

// int8 weights shaped like the float parameter `name` and their per-row
// scales (`name` + "_scale", `rows` floats).
struct RowQuantizedWeights {
  const Tensor* weights = nullptr;
  std::vector<float> scales;
};
inline Result<RowQuantizedWeights> FindRowQuantizedWeights(const Node& node, const NodeQuant& q, const std::string& name,
                                                           std::int64_t rows) {
  RowQuantizedWeights r;
  QUALM_ASSIGN_OR_RETURN(r.weights, FindConstant(node, q, name, DType::kI8, FloatParamShape(node, name)));
  QUALM_ASSIGN_OR_RETURN(const Tensor* s, FindConstant(node, q, name + "_scale", DType::kF32, Shape{rows}));
  r.scales.assign(s->f32(), s->f32() + s->elements());
  return r;
}

}  // namespace qualm
