// libFuzzer target: ONNX import (ImportOnnxBytes), and export + import again
// of every model that imports.
//
// Structure-aware: protobuf's wire format puts a length in front of every
// message and field, so byte mutation mostly breaks the framing, and what still
// parses is a graph the importer rejects at its first check. The custom
// mutator parses the input as an onnx::ModelProto, applies one semantic
// mutation (below) and serializes the result: the graph stays well-formed
// protobuf and the mutation reaches the importer's shape, attribute, constant
// and QDQ checks. One mutation in eight is libFuzzer's own byte mutation of
// the serialized model, so the protobuf parser and framing errors stay fuzzed.
// Dictionary: onnx.dict (op types, attribute names).
//
// Mutations: an op type from the importer's list; an attribute's value
// (boundary integers, NaN / Inf floats, lists grown or shrunk) or a new
// attribute by a known name; a node input or output renamed to another value
// (cycles, dangling names, an input used twice); a node dropped, duplicated or
// moved; an initializer's dims, element type or data (raw <-> typed, truncated,
// NaN); the graph input's shape; the opset version.
//
// Properties checked besides "no crash, no sanitizer report": a model that
// imports passes shape inference, saves as a qualm model file that loads
// again, and when the exporter accepts it, its
// export imports again.
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "onnx/onnx_pb.h"
#include "qualm/frontends/model_file.h"
#include "qualm/frontends/onnx.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using Rng = std::mt19937;

const char* const kOps[] = {"Conv", "Gemm", "MatMul", "Add", "Relu", "Clip", "MaxPool", "AveragePool",
                            "GlobalAveragePool", "Flatten", "Reshape", "BatchNormalization", "Softmax",
                            "LSTM", "GRU", "Gather", "Squeeze", "Transpose", "Identity", "Dropout",
                            "QuantizeLinear", "DequantizeLinear", "Mul", "Sigmoid", "Tanh"};
const char* const kAttrs[] = {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "transA",
                              "transB", "alpha", "beta", "axis", "epsilon", "momentum", "hidden_size",
                              "direction", "layout", "linear_before_reset", "ceil_mode", "count_include_pad",
                              "min", "max", "perm", "axes", "allowzero", "storage_order", "activations"};
const std::int64_t kInts[] = {0,  1,  2,  3,  -1, -2, 7, 13, 127, 128, 255, 256, 65535, 1LL << 31, (1LL << 31) - 1,
                              1LL << 32, -(1LL << 31), std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::int64_t>::min()};
const float kFloats[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 6.0f, 1e-5f, 1e-45f, 3.4e38f, -3.4e38f,
                         std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::quiet_NaN()};
const int kTypes[] = {onnx::TensorProto::FLOAT, onnx::TensorProto::INT8, onnx::TensorProto::UINT8,
                      onnx::TensorProto::INT32, onnx::TensorProto::INT64, onnx::TensorProto::DOUBLE,
                      onnx::TensorProto::FLOAT16, onnx::TensorProto::UNDEFINED};

template <typename T, std::size_t N>
const T& Pick(const T (&a)[N], Rng& rng) {
  return a[rng() % N];
}

std::int64_t AnInt(Rng& rng) {
  return rng() % 2 ? Pick(kInts, rng) : static_cast<std::int64_t>(rng() % 64) - 8;
}

// Every value name in the graph: inputs, initializers, node outputs.
std::vector<std::string> ValueNames(const onnx::GraphProto& g) {
  std::vector<std::string> names;
  for (const auto& v : g.input()) names.push_back(v.name());
  for (const auto& t : g.initializer()) names.push_back(t.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) names.push_back(o);
  names.emplace_back("");
  names.emplace_back("no_such_value");
  return names;
}

void MutateInts(google::protobuf::RepeatedField<google::protobuf::int64>* v, Rng& rng) {
  switch (rng() % 3) {
    case 0: v->Add(AnInt(rng)); break;
    case 1:
      if (!v->empty()) v->RemoveLast();
      break;
    default:
      if (!v->empty()) v->Set(static_cast<int>(rng() % v->size()), AnInt(rng));
      else v->Add(AnInt(rng));
  }
}

void MutateAttribute(onnx::NodeProto* n, Rng& rng) {
  if (n->attribute_size() == 0 || rng() % 4 == 0) {
    auto* a = n->add_attribute();
    a->set_name(Pick(kAttrs, rng));
    switch (rng() % 3) {
      case 0: a->set_type(onnx::AttributeProto::INT), a->set_i(AnInt(rng)); break;
      case 1: a->set_type(onnx::AttributeProto::FLOAT), a->set_f(Pick(kFloats, rng)); break;
      default:
        a->set_type(onnx::AttributeProto::INTS);
        for (std::uint32_t k = rng() % 5; k > 0; --k) a->add_ints(AnInt(rng));
    }
    return;
  }
  auto* a = n->mutable_attribute(static_cast<int>(rng() % n->attribute_size()));
  switch (a->type()) {
    case onnx::AttributeProto::INT: a->set_i(AnInt(rng)); break;
    case onnx::AttributeProto::FLOAT: a->set_f(Pick(kFloats, rng)); break;
    case onnx::AttributeProto::INTS: MutateInts(a->mutable_ints(), rng); break;
    case onnx::AttributeProto::STRING: a->set_s(rng() % 2 ? "SAME_UPPER" : "forward"); break;
    default: a->set_type(onnx::AttributeProto::INT), a->set_i(AnInt(rng));  // a type mismatch
  }
  if (rng() % 8 == 0) a->set_name(Pick(kAttrs, rng));
}

void MutateNode(onnx::GraphProto* g, Rng& rng) {
  if (g->node_size() == 0) {
    auto* n = g->add_node();
    n->set_op_type(Pick(kOps, rng));
    n->add_input(g->input_size() ? g->input(0).name() : "x");
    n->add_output("y");
    return;
  }
  const int i = static_cast<int>(rng() % g->node_size());
  onnx::NodeProto* n = g->mutable_node(i);
  const auto names = ValueNames(*g);
  switch (rng() % 7) {
    case 0: n->set_op_type(Pick(kOps, rng)); break;
    case 1:
    case 2: MutateAttribute(n, rng); break;
    case 3:  // rewire an input (or add one)
      if (n->input_size() && rng() % 4) n->set_input(static_cast<int>(rng() % n->input_size()), names[rng() % names.size()]);
      else n->add_input(names[rng() % names.size()]);
      break;
    case 4:  // rename an output: dangling consumers, or a clash with another value
      if (n->output_size()) n->set_output(static_cast<int>(rng() % n->output_size()), names[rng() % names.size()]);
      break;
    case 5:  // drop this node
      g->mutable_node()->DeleteSubrange(i, 1);
      break;
    default: {  // duplicate it somewhere, or swap it with another node (order)
      const int j = static_cast<int>(rng() % g->node_size());
      if (rng() % 2) *g->add_node() = *n;
      else if (i != j) g->mutable_node()->SwapElements(i, j);
    }
  }
}

void MutateInitializer(onnx::GraphProto* g, Rng& rng) {
  if (g->initializer_size() == 0) return MutateNode(g, rng);
  onnx::TensorProto* t = g->mutable_initializer(static_cast<int>(rng() % g->initializer_size()));
  switch (rng() % 5) {
    case 0: MutateInts(t->mutable_dims(), rng); break;
    case 1: t->set_data_type(Pick(kTypes, rng)); break;
    case 2:  // raw data shorter or longer than the shape needs
      if (t->has_raw_data()) {
        std::string* raw = t->mutable_raw_data();
        if (rng() % 2 && !raw->empty()) raw->resize(rng() % raw->size());
        else raw->append(1 + rng() % 8, '\x7f');
      } else {
        t->add_float_data(Pick(kFloats, rng));
      }
      break;
    case 3:  // raw <-> typed fields
      if (t->has_raw_data() && t->data_type() == onnx::TensorProto::FLOAT) {
        const std::string raw = t->raw_data();
        t->clear_raw_data();
        for (std::size_t k = 0; k + 4 <= raw.size(); k += 4) {
          float v;
          std::memcpy(&v, raw.data() + k, 4);
          t->add_float_data(v);
        }
      } else {
        t->set_raw_data(std::string(t->float_data_size() * 4 + t->int32_data_size(), '\x01'));
      }
      break;
    default:  // one value becomes a boundary float (NaN, Inf, denormal, huge)
      if (t->has_raw_data() && t->raw_data().size() >= 4 && t->data_type() == onnx::TensorProto::FLOAT) {
        const float v = Pick(kFloats, rng);
        std::memcpy(t->mutable_raw_data()->data() + (rng() % (t->raw_data().size() / 4)) * 4, &v, 4);
      } else if (t->int32_data_size()) {
        t->set_int32_data(static_cast<int>(rng() % t->int32_data_size()), static_cast<std::int32_t>(AnInt(rng)));
      } else if (t->float_data_size()) {
        t->set_float_data(static_cast<int>(rng() % t->float_data_size()), Pick(kFloats, rng));
      }
  }
}

void MutateInputShape(onnx::GraphProto* g, Rng& rng) {
  if (g->input_size() == 0) return MutateNode(g, rng);
  auto* tt = g->mutable_input(0)->mutable_type()->mutable_tensor_type();
  auto* shape = tt->mutable_shape();
  switch (rng() % 4) {
    case 0: shape->add_dim()->set_dim_value(AnInt(rng)); break;
    case 1:
      if (shape->dim_size()) shape->mutable_dim()->RemoveLast();
      break;
    case 2:
      if (shape->dim_size()) {
        auto* d = shape->mutable_dim(static_cast<int>(rng() % shape->dim_size()));
        if (rng() % 4) d->set_dim_value(AnInt(rng));
        else d->set_dim_param("N");
      }
      break;
    default: tt->set_elem_type(Pick(kTypes, rng));
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  onnx::ModelProto m;
  if (seed % 8 == 0 || !m.ParseFromArray(data, static_cast<int>(size))) return LLVMFuzzerMutate(data, size, max_size);
  Rng rng(seed);
  onnx::GraphProto* g = m.mutable_graph();
  switch (rng() % 8) {
    case 0:
    case 1:
    case 2: MutateNode(g, rng); break;
    case 3:
    case 4: MutateInitializer(g, rng); break;
    case 5: MutateInputShape(g, rng); break;
    case 6:
      if (m.opset_import_size()) m.mutable_opset_import(0)->set_version(AnInt(rng));
      break;
    default:  // several at once: the checks interact (a new shape and a new attribute)
      MutateNode(g, rng);
      MutateInitializer(g, rng);
  }
  std::string out;
  if (!m.SerializeToString(&out) || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto model = qualm::frontends::ImportOnnxBytes(bytes, "fuzz.onnx");
  if (!model.ok()) return 0;
  QUALM_FUZZ_EXPECT(qualm::InferShapes(static_cast<const qualm::Model&>(*model)).ok());
  // What `qualm import` does next: save as a qualm model file, which loads.
  const std::vector<std::uint8_t> file = qualm::frontends::SerializeModel(*model);
  QUALM_FUZZ_EXPECT(qualm::frontends::ParseModel(file.data(), file.size(), "imported.qm").ok());
  auto exported = qualm::frontends::ExportOnnxBytes(*model);
  if (exported.ok()) {
    auto again = qualm::frontends::ImportOnnxBytes(*exported, "again.onnx");
    QUALM_FUZZ_EXPECT(again.ok());
  }
  return 0;
}
