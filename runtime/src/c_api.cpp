// The C API (qualm.h) over the model file reader and the int8 executor.
//
// Every entry point catches everything: a C++ exception (std::bad_alloc from
// an allocation at open, or anything unexpected) becomes a status and a
// message, never an unwinding through C frames. Inputs are validated here,
// at the boundary, because the executor's Forward trusts its input (token ids
// in range, batch within max_batch) and never validates on the hot path.
#include "qualm.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <variant>
#include <vector>

#include "qualm/engine/int8_executor.h"
#include "qualm/engine/model.h"
#include "qualm/frontends/model_file.h"

struct qualm_model {
  qualm::Model model;
  std::unique_ptr<qualm::Int8Executor> executor;
  std::string path_description;
  int max_batch = 0;
  std::int64_t sample_elements = 0;  // per input sample
  std::int64_t vocab = 0;            // text models: ids lie in [0, vocab)
  std::vector<std::int32_t> ids;     // text input, max_batch samples
  std::vector<float> pixels;         // float input, max_batch samples
  int batch = 0;                     // samples of the last set_input
  int ran = 0;                       // samples of the last run (0: none yet)
};

namespace {

using qualm::Status;
using qualm::StatusCode;

thread_local std::string g_last_error;

qualm_status Fail(qualm_status s, std::string message) {
  g_last_error = std::move(message);
  return s;
}

qualm_status FromStatus(const Status& s) {
  if (s.ok()) return QUALM_OK;
  qualm_status code = QUALM_INTERNAL;
  switch (s.code()) {
    case StatusCode::kOk: code = QUALM_OK; break;
    case StatusCode::kInvalidArgument: code = QUALM_INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: code = QUALM_NOT_FOUND; break;
    case StatusCode::kDataLoss: code = QUALM_DATA_LOSS; break;
    case StatusCode::kIoError: code = QUALM_IO_ERROR; break;
    case StatusCode::kUnimplemented: code = QUALM_UNIMPLEMENTED; break;
    case StatusCode::kInternal: code = QUALM_INTERNAL; break;
  }
  return Fail(code, s.ToString());
}

// Runs `body` with every exception turned into a status.
template <typename F>
qualm_status Guard(const char* where, F&& body) noexcept {
  try {
    g_last_error.clear();
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(QUALM_OUT_OF_MEMORY, std::string(where) + ": out of memory");
  } catch (const std::exception& e) {
    return Fail(QUALM_INTERNAL, std::string(where) + ": " + e.what());
  } catch (...) {
    return Fail(QUALM_INTERNAL, std::string(where) + ": unknown error");
  }
}

qualm_status Prepare(qualm::Result<qualm::Model> loaded, int32_t max_batch, qualm_model** out) {
  if (!loaded.ok()) return FromStatus(loaded.status());
  if (loaded->quant.scheme != qualm::QuantScheme::kInt8)
    return Fail(QUALM_UNIMPLEMENTED, std::string("the runtime runs full-integer (int8) models; this one is '") +
                                         qualm::QuantSchemeName(loaded->quant.scheme) +
                                         "' (quantize it with `qualm quantize --scheme int8`, or run it on the engine)");
  auto m = std::make_unique<qualm_model>();
  m->model = std::move(loaded).value();
  m->max_batch = max_batch;
  qualm::Int8ExecutorOptions options;
  options.backend = qualm::Backend::kFast;  // bit-identical to the reference on every ISA
  options.plan_memory = true;
  auto ex = qualm::Int8Executor::Create(&m->model, max_batch, options);
  if (!ex.ok()) return FromStatus(ex.status().WithContext("preparing the model"));
  m->executor = std::move(ex).value();
  m->path_description = m->executor->PathDescription();
  m->sample_elements = m->executor->sample_shape(0).elements();
  const std::size_t capacity = static_cast<std::size_t>(max_batch) * static_cast<std::size_t>(m->sample_elements);
  if (m->model.input_type == qualm::SampleType::kInt32) {
    m->vocab = std::numeric_limits<std::int64_t>::max();
    for (const qualm::Node& node : m->model.nodes)
      if (const auto* e = std::get_if<qualm::EmbeddingOp>(&node.op))
        for (int k : node.inputs)
          if (k == 0) m->vocab = std::min<std::int64_t>(m->vocab, e->vocab);
    m->ids.assign(capacity, 0);
  } else {
    m->pixels.assign(capacity, 0.0f);
  }
  *out = m.release();
  return QUALM_OK;
}

qualm_status CheckOpen(const void* out, int32_t max_batch) {
  if (!out) return Fail(QUALM_INVALID_ARGUMENT, "out is NULL");
  if (max_batch <= 0) return Fail(QUALM_INVALID_ARGUMENT, "max_batch must be positive, got " + std::to_string(max_batch));
  return QUALM_OK;
}

void FillInfo(const std::vector<std::int64_t>& sample, int max_batch, qualm_dtype dtype, const qualm::NodeQuant* q,
              qualm_tensor_info* info) {
  *info = qualm_tensor_info{};
  info->rank = static_cast<int32_t>(sample.size() + 1);
  info->dims[0] = max_batch;
  for (std::size_t i = 0; i < sample.size() && i + 1 < QUALM_MAX_RANK; ++i) info->dims[i + 1] = sample[i];
  info->dtype = dtype;
  if (q && q->has_output) {
    info->quantized = 1;
    info->scale = q->output.scale;
    info->zero_point = q->output.zero_point;
  }
}

}  // namespace

extern "C" {

const char* qualm_version(void) { return "0.1.0"; }

const char* qualm_status_string(qualm_status status) {
  switch (status) {
    case QUALM_OK: return "ok";
    case QUALM_INVALID_ARGUMENT: return "invalid argument";
    case QUALM_NOT_FOUND: return "not found";
    case QUALM_DATA_LOSS: return "data loss";
    case QUALM_IO_ERROR: return "i/o error";
    case QUALM_UNIMPLEMENTED: return "unimplemented";
    case QUALM_INTERNAL: return "internal error";
    case QUALM_OUT_OF_MEMORY: return "out of memory";
    case QUALM_FAILED_PRECONDITION: return "failed precondition";
  }
  return "unknown status";
}

const char* qualm_last_error(void) { return g_last_error.c_str(); }

qualm_status qualm_open_file(const char* path, int32_t max_batch, qualm_model** out) {
  return Guard("qualm_open_file", [&] {
    if (out) *out = nullptr;
    if (qualm_status s = CheckOpen(out, max_batch); s != QUALM_OK) return s;
    if (!path) return Fail(QUALM_INVALID_ARGUMENT, "path is NULL");
    return Prepare(qualm::frontends::LoadModel(path), max_batch, out);
  });
}

qualm_status qualm_open_memory(const void* data, size_t size, int32_t max_batch, qualm_model** out) {
  return Guard("qualm_open_memory", [&] {
    if (out) *out = nullptr;
    if (qualm_status s = CheckOpen(out, max_batch); s != QUALM_OK) return s;
    if (!data) return Fail(QUALM_INVALID_ARGUMENT, "data is NULL");
    return Prepare(qualm::frontends::ParseModel(static_cast<const std::uint8_t*>(data), size, "<memory buffer>"), max_batch, out);
  });
}

void qualm_close(qualm_model* model) { delete model; }

int32_t qualm_input_count(const qualm_model* model) { return model ? 1 : 0; }
int32_t qualm_output_count(const qualm_model* model) { return model ? 1 : 0; }

qualm_status qualm_input_info(const qualm_model* model, int32_t index, qualm_tensor_info* info) {
  return Guard("qualm_input_info", [&] {
    if (!model || !info) return Fail(QUALM_INVALID_ARGUMENT, "model or info is NULL");
    if (index != 0) return Fail(QUALM_INVALID_ARGUMENT, "input index " + std::to_string(index) + " (the model has 1 input)");
    const bool text = model->model.input_type == qualm::SampleType::kInt32;
    FillInfo(model->model.input_shape, model->max_batch, text ? QUALM_INT32 : QUALM_FLOAT32,
             text ? nullptr : &model->model.quant.nodes[0], info);
    return QUALM_OK;
  });
}

qualm_status qualm_output_info(const qualm_model* model, int32_t index, qualm_tensor_info* info) {
  return Guard("qualm_output_info", [&] {
    if (!model || !info) return Fail(QUALM_INVALID_ARGUMENT, "model or info is NULL");
    if (index != 0)
      return Fail(QUALM_INVALID_ARGUMENT, "output index " + std::to_string(index) + " (the model has 1 output)");
    FillInfo({model->model.num_classes}, model->max_batch, QUALM_FLOAT32, &model->model.quant.nodes.back(), info);
    return QUALM_OK;
  });
}

const char* qualm_path_description(const qualm_model* model) { return model ? model->path_description.c_str() : ""; }

qualm_status qualm_set_input(qualm_model* model, int32_t index, const void* data, size_t bytes) {
  return Guard("qualm_set_input", [&] {
    if (!model || !data) return Fail(QUALM_INVALID_ARGUMENT, "model or data is NULL");
    if (index != 0) return Fail(QUALM_INVALID_ARGUMENT, "input index " + std::to_string(index) + " (the model has 1 input)");
    model->batch = 0;  // a failed set_input leaves no input to run on
    const std::size_t sample_bytes = static_cast<std::size_t>(model->sample_elements) * 4;
    if (bytes == 0 || bytes % sample_bytes != 0 || bytes / sample_bytes > static_cast<std::size_t>(model->max_batch))
      return Fail(QUALM_INVALID_ARGUMENT, std::to_string(bytes) + " input bytes: expected a positive multiple of " +
                                              std::to_string(sample_bytes) + " (one sample) for at most " +
                                              std::to_string(model->max_batch) + " samples");
    const std::size_t count = bytes / 4;
    if (!model->ids.empty()) {
      std::memcpy(model->ids.data(), data, bytes);
      for (std::size_t i = 0; i < count; ++i)
        if (model->ids[i] < 0 || model->ids[i] >= model->vocab)
          return Fail(QUALM_INVALID_ARGUMENT, "token id " + std::to_string(model->ids[i]) + " at element " +
                                                  std::to_string(i) + " is outside [0, " + std::to_string(model->vocab) +
                                                  ")");
    } else {
      std::memcpy(model->pixels.data(), data, bytes);
      for (std::size_t i = 0; i < count; ++i)
        if (!std::isfinite(model->pixels[i]))
          return Fail(QUALM_INVALID_ARGUMENT, "input element " + std::to_string(i) + " is not finite");
    }
    model->batch = static_cast<int>(bytes / sample_bytes);
    return QUALM_OK;
  });
}

qualm_status qualm_run(qualm_model* model) {
  return Guard("qualm_run", [&] {
    if (!model) return Fail(QUALM_INVALID_ARGUMENT, "model is NULL");
    if (model->batch == 0) return Fail(QUALM_FAILED_PRECONDITION, "qualm_run before a successful qualm_set_input");
    const void* input = model->ids.empty() ? static_cast<const void*>(model->pixels.data()) : model->ids.data();
    model->executor->Forward(input, model->batch);
    model->ran = model->batch;
    return QUALM_OK;
  });
}

size_t qualm_output_bytes(const qualm_model* model, int32_t index) {
  if (!model || index != 0) return 0;
  return static_cast<std::size_t>(model->ran) * static_cast<std::size_t>(model->model.num_classes) * sizeof(float);
}

qualm_status qualm_get_output(const qualm_model* model, int32_t index, void* data, size_t bytes) {
  return Guard("qualm_get_output", [&] {
    if (!model || !data) return Fail(QUALM_INVALID_ARGUMENT, "model or data is NULL");
    if (index != 0)
      return Fail(QUALM_INVALID_ARGUMENT, "output index " + std::to_string(index) + " (the model has 1 output)");
    if (model->ran == 0) return Fail(QUALM_FAILED_PRECONDITION, "qualm_get_output before a successful qualm_run");
    const std::size_t need = qualm_output_bytes(model, 0);
    if (bytes < need)
      return Fail(QUALM_INVALID_ARGUMENT,
                  std::to_string(bytes) + " output bytes: the last run produced " + std::to_string(need));
    std::memcpy(data, model->executor->logits(), need);
    return QUALM_OK;
  });
}

}  // extern "C"
