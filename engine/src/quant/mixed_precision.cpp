// Mixed-precision runs of an int8 model (qualm/engine/mixed_precision.h).
#include "qualm/engine/mixed_precision.h"

#include <algorithm>

#include "qualm/engine/evaluate.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm {

class MixedPrecisionExecutor::Hook final : public ForwardHook {
 public:
  explicit Hook(MixedPrecisionExecutor* owner) : owner_(owner) {}
  void AfterNode(Executor& ex, int node, int n) override {
    Int8Executor& q8 = *owner_->int8_;
    const auto i = static_cast<std::size_t>(node);
    const Model& m = *owner_->int8_model_;
    ValueBuffers& v = ex.mutable_value(node);
    if (node == 0) {
      // Ids are ids; a float input is quantized for the int8 consumers either way.
      q8.SetInput(v.value.raw(), n);
      if (m.input_type == SampleType::kInt32) return;
      q8.RunNode(0, n);
    }
    kernels::QuantizeS8Params p;
    p.count = static_cast<std::int64_t>(n) * v.sample_shape.elements();
    p.q = m.quant.nodes[i].output;
    if (owner_->precision_[i] == NodePrecision::kInt8) {
      if (node != 0) q8.RunNode(node, n);
      kernels::ref::dequantize_s8(p, q8.value(node).data<std::int8_t>(), v.value.f32());
    } else if (node != 0) {
      kernels::ref::quantize_s8(p, v.value.f32(), q8.mutable_value(node).data<std::int8_t>());
    }
  }

 private:
  MixedPrecisionExecutor* owner_;
};

MixedPrecisionExecutor::~MixedPrecisionExecutor() = default;

Result<std::unique_ptr<MixedPrecisionExecutor>> MixedPrecisionExecutor::Create(const Model& int8_model,
                                                                               const MixedPrecisionOptions& options) {
  if (int8_model.quant.scheme != QuantScheme::kInt8)
    return InvalidArgument(std::string("mixed precision needs an int8 model, this one is '") +
                           QuantSchemeName(int8_model.quant.scheme) + "'");
  std::unique_ptr<MixedPrecisionExecutor> ex(new MixedPrecisionExecutor());
  ex->int8_model_ = &int8_model;
  ex->options_ = options;
  ex->float_graph_ = std::make_unique<Model>(int8_model);
  ex->float_graph_->quant = QuantSpec{};
  ExecutorOptions fo;
  fo.max_batch = options.max_batch;
  fo.backend = options.float_backend;
  fo.threads = options.threads;
  QUALM_ASSIGN_OR_RETURN(ex->float_, Executor::Create(*ex->float_graph_, fo));
  Int8ExecutorOptions io;
  io.backend = options.int8_backend;
  io.threads = options.threads;
  QUALM_ASSIGN_OR_RETURN(ex->int8_, Int8Executor::Create(&int8_model, options.max_batch, io));
  ex->hook_ = std::make_unique<Hook>(ex.get());
  ex->precision_.assign(int8_model.nodes.size(), NodePrecision::kInt8);
  return ex;
}

int MixedPrecisionExecutor::num_nodes() const { return static_cast<int>(precision_.size()); }

Status MixedPrecisionExecutor::SetPrecision(const std::vector<NodePrecision>& precision) {
  if (precision.size() != precision_.size())
    return InvalidArgument("mixed precision: " + std::to_string(precision.size()) + " precisions for " +
                           std::to_string(precision_.size()) + " nodes");
  precision_ = precision;
  return Status::Ok();
}

Status MixedPrecisionExecutor::SetInt8Prefix(int k) {
  if (k < -1 || k >= num_nodes())
    return InvalidArgument("mixed precision: int8 prefix " + std::to_string(k) + " outside [-1, " +
                           std::to_string(num_nodes() - 1) + "]");
  for (int i = 0; i < num_nodes(); ++i)
    precision_[static_cast<std::size_t>(i)] = i <= k ? NodePrecision::kInt8 : NodePrecision::kFloat;
  return Status::Ok();
}

Status MixedPrecisionExecutor::SetFloatNodes(const std::vector<int>& nodes) {
  std::vector<NodePrecision> p(precision_.size(), NodePrecision::kInt8);
  for (int k : nodes) {
    if (k < 0 || k >= num_nodes())
      return InvalidArgument("mixed precision: node " + std::to_string(k) + " outside [0, " +
                             std::to_string(num_nodes() - 1) + "]");
    p[static_cast<std::size_t>(k)] = NodePrecision::kFloat;
  }
  precision_ = std::move(p);
  return Status::Ok();
}

void MixedPrecisionExecutor::Run(const void* input, int n) { float_->Forward(input, n, hook_.get()); }
const float* MixedPrecisionExecutor::logits() const { return float_->logits(); }
int MixedPrecisionExecutor::num_classes() const { return int8_model_->num_classes; }

std::string MixedPrecisionExecutor::PathDescription() const {
  std::string nodes;
  for (int i = 0; i < num_nodes();) {
    const NodePrecision p = precision_[static_cast<std::size_t>(i)];
    int j = i;
    while (j + 1 < num_nodes() && precision_[static_cast<std::size_t>(j + 1)] == p) ++j;
    if (!nodes.empty()) nodes += ", ";
    nodes += p == NodePrecision::kInt8 ? "int8 " : "float ";
    nodes += i == j ? std::to_string(i) : std::to_string(i) + ".." + std::to_string(j);
    i = j + 1;
  }
  std::string out = "mixed (";
  out += nodes;
  out += "; float ";
  out += float_->PathDescription();
  out += ", ";
  out += int8_->PathDescription();
  out += ")";
  return out;
}

namespace {

const void* SampleAt(const Dataset& data, const std::vector<std::int32_t>& ids, const std::vector<float>& f) {
  return data.sample_type == SampleType::kInt32 ? static_cast<const void*>(ids.data())
                                                : static_cast<const void*>(f.data());
}

}  // namespace

Result<std::vector<std::vector<std::int32_t>>> SweepInt8Prefix(const Model& int8_model, const Dataset& data,
                                                               const std::vector<std::size_t>& indices,
                                                               const MixedPrecisionOptions& options) {
  QUALM_RETURN_IF_ERROR(CheckDataset(int8_model, data));
  QUALM_ASSIGN_OR_RETURN(auto ex, MixedPrecisionExecutor::Create(int8_model, options));
  const int nodes = ex->num_nodes();
  const int classes = int8_model.num_classes;
  const std::size_t ss = data.sample_size();
  std::vector<std::vector<std::int32_t>> out(static_cast<std::size_t>(nodes + 1),
                                             std::vector<std::int32_t>(indices.size()));
  std::vector<float> f;
  std::vector<std::int32_t> ids;
  const auto batch = static_cast<std::size_t>(options.max_batch);
  for (std::size_t begin = 0; begin < indices.size(); begin += batch) {
    const std::size_t n = std::min(batch, indices.size() - begin);
    // Gather the batch's inputs once; every k reruns them.
    f.clear();
    ids.clear();
    for (std::size_t j = begin; j < begin + n; ++j) {
      const std::size_t at = indices[j];
      if (at >= data.size()) return InvalidArgument("input index " + std::to_string(at) + " outside the data set");
      if (data.sample_type == SampleType::kInt32)
        ids.insert(ids.end(), data.i32.begin() + static_cast<std::ptrdiff_t>(at * ss),
                   data.i32.begin() + static_cast<std::ptrdiff_t>((at + 1) * ss));
      else
        f.insert(f.end(), data.f32.begin() + static_cast<std::ptrdiff_t>(at * ss),
                 data.f32.begin() + static_cast<std::ptrdiff_t>((at + 1) * ss));
    }
    for (int k = -1; k < nodes; ++k) {
      QUALM_RETURN_IF_ERROR(ex->SetInt8Prefix(k));
      ex->Run(SampleAt(data, ids, f), static_cast<int>(n));
      for (std::size_t j = 0; j < n; ++j)
        out[static_cast<std::size_t>(k + 1)][begin + j] = Argmax(ex->logits() + j * static_cast<std::size_t>(classes), classes);
    }
  }
  return out;
}

Result<std::vector<std::int32_t>> PredictMixed(MixedPrecisionExecutor& ex, const Dataset& data) {
  QUALM_RETURN_IF_ERROR(CheckDataset(ex.model(), data));
  const int classes = ex.num_classes();
  const std::size_t ss = data.sample_size();
  std::vector<std::int32_t> out(data.size());
  const auto batch = static_cast<std::size_t>(ex.max_batch());
  for (std::size_t begin = 0; begin < data.size(); begin += batch) {
    const std::size_t n = std::min(batch, data.size() - begin);
    const void* input = data.sample_type == SampleType::kInt32 ? static_cast<const void*>(&data.i32[begin * ss])
                                                               : static_cast<const void*>(&data.f32[begin * ss]);
    ex.Run(input, static_cast<int>(n));
    for (std::size_t j = 0; j < n; ++j)
      out[begin + j] = Argmax(ex.logits() + j * static_cast<std::size_t>(classes), classes);
  }
  return out;
}

}  // namespace qualm
