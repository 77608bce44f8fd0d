#include "qualm/engine/inference.h"

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"

namespace qualm {

const char* BackendName(Backend b) {
  switch (b) {
    case Backend::kReference: return "reference";
    case Backend::kFast: return "fast";
    case Backend::kOnednn: return "onednn";
  }
  return "?";
}

Result<Backend> ParseBackend(const std::string& name) {
  if (name == "reference") return Backend::kReference;
  if (name == "fast") return Backend::kFast;
  if (name == "onednn") return Backend::kOnednn;
  return InvalidArgument("unknown backend '" + name + "' (expected reference, fast or onednn)");
}

Result<std::unique_ptr<Inference>> Inference::Create(const Model& model, const InferenceOptions& options) {
  if (model.quant.scheme == QuantScheme::kInt8) {
    Int8ExecutorOptions io;
    io.backend = options.backend;
    io.threads = options.threads;
    io.plan_memory = true;  // only the logits are read: activations share one arena
    QUALM_ASSIGN_OR_RETURN(auto ex, Int8Executor::Create(&model, options.max_batch, io));
    return std::unique_ptr<Inference>(std::move(ex));
  }
  ExecutorOptions eo;
  eo.max_batch = options.max_batch;
  eo.backend = options.backend;
  eo.threads = options.threads;
  eo.plan_memory = true;
  QUALM_ASSIGN_OR_RETURN(auto ex, Executor::Create(model, eo));
  return std::unique_ptr<Inference>(std::move(ex));
}

}  // namespace qualm
