// frontends/src/onnx/onnx_tensor.cpp: TensorProto and attribute helpers.
#include <cstring>

#include "onnx_internal.h"
#include "qualm/kernels/checked.h"

namespace qualm::frontends::onnx_io {

std::int64_t ConstTensor::size() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

namespace {

template <typename T>
void FromRaw(const std::string& raw, std::int64_t n, std::vector<std::int64_t>* ints) {
  ints->resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * static_cast<std::int64_t>(sizeof(T)), sizeof(T));
    (*ints)[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(v);
  }
}

std::size_t ElemSize(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return 4;
    case onnx::TensorProto::INT8: return 1;
    case onnx::TensorProto::UINT8: return 1;
    case onnx::TensorProto::INT32: return 4;
    case onnx::TensorProto::INT64: return 8;
    default: return 0;
  }
}

}  // namespace

Result<ConstTensor> ReadTensor(const onnx::TensorProto& t) {
  const std::string where = std::string("tensor '") + t.name() + "'";
  ConstTensor out;
  out.elem_type = t.data_type();
  const std::size_t es = ElemSize(out.elem_type);
  if (es == 0)
    return Unimplemented(where + ": element type " + std::to_string(out.elem_type) +
                         " (only float, int8, uint8, int32, int64 are read)");
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return Unimplemented(where + ": external data is not supported (save the model with its weights inside)");
  if (t.dims_size() > kMaxTensorRank)
    return InvalidArgument(where + ": " + std::to_string(t.dims_size()) + " dimensions (limit " +
                           std::to_string(kMaxTensorRank) + ")");
  out.dims.assign(t.dims().begin(), t.dims().end());
  // Checked before anything is sized from it: the dims come from the file.
  auto elements = CheckedProduct(out.dims, kMaxTensorElements, where);
  if (!elements.ok()) return elements.status();
  const std::int64_t n = *elements;
  const bool raw = t.has_raw_data();
  if (raw && t.raw_data().size() != static_cast<std::size_t>(n) * es)
    return InvalidArgument(where + ": raw_data holds " + std::to_string(t.raw_data().size()) + " bytes, shape needs " +
                           std::to_string(static_cast<std::size_t>(n) * es));
  auto count_error = [&](int have) {
    return InvalidArgument(where + ": holds " + std::to_string(have) + " values, shape needs " + std::to_string(n));
  };
  switch (out.elem_type) {
    case onnx::TensorProto::FLOAT:
      if (raw) {
        out.f.resize(static_cast<std::size_t>(n));
        if (n) std::memcpy(out.f.data(), t.raw_data().data(), static_cast<std::size_t>(n) * 4);
      } else {
        if (t.float_data_size() != n) return count_error(t.float_data_size());
        out.f.assign(t.float_data().begin(), t.float_data().end());
      }
      return out;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT32:
      if (raw) {
        if (out.elem_type == onnx::TensorProto::INT8) FromRaw<std::int8_t>(t.raw_data(), n, &out.ints);
        if (out.elem_type == onnx::TensorProto::UINT8) FromRaw<std::uint8_t>(t.raw_data(), n, &out.ints);
        if (out.elem_type == onnx::TensorProto::INT32) FromRaw<std::int32_t>(t.raw_data(), n, &out.ints);
      } else {
        if (t.int32_data_size() != n) return count_error(t.int32_data_size());
        out.ints.assign(t.int32_data().begin(), t.int32_data().end());
        // int32_data holds int8 / uint8 elements widened: each must fit the type.
        if (out.elem_type != onnx::TensorProto::INT32) {
          const std::int64_t lo = out.elem_type == onnx::TensorProto::INT8 ? -128 : 0, hi = lo + 255;
          for (std::int64_t v : out.ints)
            if (v < lo || v > hi)
              return InvalidArgument(where + ": value " + std::to_string(v) + " is outside the element type's range [" +
                                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
        }
      }
      break;
    case onnx::TensorProto::INT64:
      if (raw) {
        FromRaw<std::int64_t>(t.raw_data(), n, &out.ints);
      } else {
        if (t.int64_data_size() != n) return count_error(t.int64_data_size());
        out.ints.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    default: break;
  }
  out.f.resize(out.ints.size());
  for (std::size_t i = 0; i < out.ints.size(); ++i) out.f[i] = static_cast<float>(out.ints[i]);
  return out;
}

onnx::TensorProto FloatTensor(const std::string& name, const std::vector<std::int64_t>& dims,
                              const std::vector<float>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}

onnx::TensorProto IntTensor(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                            const std::vector<std::int64_t>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(elem_type);
  for (auto d : dims) t.add_dims(d);
  std::string raw;
  for (auto x : v) {
    if (elem_type == onnx::TensorProto::INT8) {
      const auto b = static_cast<std::int8_t>(x);
      raw.append(reinterpret_cast<const char*>(&b), 1);
    } else if (elem_type == onnx::TensorProto::INT32) {
      const auto b = static_cast<std::int32_t>(x);
      raw.append(reinterpret_cast<const char*>(&b), 4);
    } else {
      raw.append(reinterpret_cast<const char*>(&x), 8);
    }
  }
  t.set_raw_data(raw);
  return t;
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
std::int64_t AttrInt(const onnx::NodeProto& n, const std::string& name, std::int64_t fallback) {
  const auto* a = FindAttr(n, name);
  return a && a->type() == onnx::AttributeProto::INT ? a->i() : fallback;
}
float AttrFloat(const onnx::NodeProto& n, const std::string& name, float fallback) {
  const auto* a = FindAttr(n, name);
  return a && a->type() == onnx::AttributeProto::FLOAT ? a->f() : fallback;
}
std::string AttrString(const onnx::NodeProto& n, const std::string& name, const std::string& fallback) {
  const auto* a = FindAttr(n, name);
  return a && a->type() == onnx::AttributeProto::STRING ? a->s() : fallback;
}
std::vector<std::int64_t> AttrInts(const onnx::NodeProto& n, const std::string& name,
                                   const std::vector<std::int64_t>& fallback) {
  const auto* a = FindAttr(n, name);
  if (!a || a->type() != onnx::AttributeProto::INTS) return fallback;
  return {a->ints().begin(), a->ints().end()};
}
void SetAttr(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void SetAttr(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void SetAttr(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

}  // namespace qualm::frontends::onnx_io
