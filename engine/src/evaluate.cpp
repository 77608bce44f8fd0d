// Evaluation (qualm/engine/evaluate.h): any model through the Inference interface.
#include "qualm/engine/evaluate.h"

#include <algorithm>
#include <cstring>

#include "qualm/kernels/softmax.h"

namespace qualm {
int Argmax(const float* row, int cols) {
  int best = 0;
  for (int c = 1; c < cols; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

Status CheckDataset(const Model& model, const Dataset& data) {
  const std::string where = "data set '" + data.name + "'";
  if (data.size() == 0) return InvalidArgument(where + " is empty");
  const bool want_int = model.input_type == SampleType::kInt32;
  if ((data.sample_type == SampleType::kInt32) != want_int)
    return InvalidArgument(where + " holds " + (want_int ? "images" : "token ids") + " but model '" + model.arch +
                           "' reads " + (want_int ? "token ids" : "images"));
  std::vector<std::int64_t> shape(data.sample_shape.begin(), data.sample_shape.end());
  if (shape != model.input_shape)
    return InvalidArgument(where + " has samples of shape " + Shape(shape).ToString() + ", model '" + model.arch +
                           "' expects " + Shape(model.input_shape).ToString());
  const std::size_t expect = data.size() * data.sample_size();
  if ((want_int ? data.i32.size() : data.f32.size()) != expect)
    return InvalidArgument(where + ": sample buffer does not match its count and shape");
  if (data.num_classes != model.num_classes)
    return InvalidArgument(where + " has " + std::to_string(data.num_classes) + " classes, model '" + model.arch +
                           "' has " + std::to_string(model.num_classes));
  for (std::size_t i = 0; i < data.size(); ++i)
    if (data.labels[i] < 0 || data.labels[i] >= model.num_classes)
      return InvalidArgument(where + ": label " + std::to_string(data.labels[i]) + " of sample " + std::to_string(i) +
                             " is out of range");
  if (want_int) {
    for (const auto& node : model.nodes)
      if (const auto* e = std::get_if<EmbeddingOp>(&node.op))
        for (std::size_t i = 0; i < data.i32.size(); ++i)
          if (data.i32[i] < 0 || data.i32[i] >= e->vocab)
            return InvalidArgument(where + ": token id " + std::to_string(data.i32[i]) + " in sample " +
                                   std::to_string(i / data.sample_size()) + " is outside the vocabulary of " +
                                   std::to_string(e->vocab));
  }
  return Status::Ok();
}

Result<EvalResult> Evaluate(const Model& model, const Dataset& data, const EvalOptions& options,
                            const std::function<void(std::size_t, std::size_t)>& progress) {
  QUALM_RETURN_IF_ERROR(CheckDataset(model, data));
  if (options.batch_size <= 0) return InvalidArgument("evaluation batch size must be positive");
  // An int8 model on the fast backend runs conv2d / dense on the fast int8
  // kernels, which are bit-identical to the reference ones: only the speed
  // depends on the backend there.
  QUALM_ASSIGN_OR_RETURN(std::unique_ptr<Inference> ex,
                         Inference::Create(model, {options.batch_size, options.backend, options.threads}));
  const int classes = model.num_classes;
  EvalResult r;
  r.num_classes = classes;
  r.path = ex->PathDescription();
  r.predictions.resize(data.size());
  if (options.keep_probabilities) r.probabilities.resize(data.size() * static_cast<std::size_t>(classes));
  std::vector<float> probs(static_cast<std::size_t>(options.batch_size * classes));
  const std::size_t ss = data.sample_size();
  double loss_sum = 0;
  std::size_t correct = 0;
  for (std::size_t begin = 0; begin < data.size(); begin += static_cast<std::size_t>(options.batch_size)) {
    const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.batch_size), data.size() - begin));
    const void* input = data.sample_type == SampleType::kInt32 ? static_cast<const void*>(&data.i32[begin * ss])
                                                               : static_cast<const void*>(&data.f32[begin * ss]);
    ex->Run(input, n);
    const float loss = kernels::ref::softmax_cross_entropy_f32(n, classes, ex->logits(), &data.labels[begin], probs.data());
    loss_sum += static_cast<double>(loss) * n;
    for (int i = 0; i < n; ++i) {
      const int pred = Argmax(ex->logits() + i * classes, classes);
      r.predictions[begin + static_cast<std::size_t>(i)] = pred;
      correct += pred == data.labels[begin + static_cast<std::size_t>(i)];
    }
    if (options.keep_probabilities)
      std::memcpy(&r.probabilities[begin * classes], probs.data(), static_cast<std::size_t>(n * classes) * sizeof(float));
    if (progress) progress(begin + static_cast<std::size_t>(n), data.size());
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(data.size());
  r.loss = loss_sum / static_cast<double>(data.size());
  return r;
}

}  // namespace qualm
