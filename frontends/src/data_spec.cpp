#include "qualm/frontends/data_spec.h"

#include <nlohmann/json.hpp>

#include "qualm/frontends/datasets.h"
#include "qualm/frontends/spam_assassin.h"

namespace qualm::frontends {
namespace {

// Seed of the 10 % validation hold-out for user data (images:, idx:, text:).
constexpr std::uint64_t kUserValidationSeed = 7;
constexpr double kUserValidationFraction = 0.1;

DataOptions ToDataOptions(const DataSpecOptions& o) {
  DataOptions d;
  if (!o.fashion_dir.empty()) d.fashion_mnist_dir = o.fashion_dir;
  d.spam_assassin_dir = o.spam_dir;
  d.limit = o.limit;
  d.text_transform = o.text_transform;
  d.limits = o.limits;
  if (o.image_shape.size() == 3) {
    d.images.height = static_cast<int>(o.image_shape[0]);
    d.images.width = static_cast<int>(o.image_shape[1]);
    d.images.color = o.image_shape[2] == 3 ? ColorMode::kRgb : ColorMode::kGrey;
  }
  return d;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool IsUserData(const std::string& spec) {
  return StartsWith(spec, "images:") || StartsWith(spec, "idx:") || StartsWith(spec, "text:");
}

// User data (images:, idx:, text:) is split once, the same way for training and
// for everything that later needs "the training split" (calibration): a seeded
// 10 % validation hold-out of the whole set; `limit` keeps a prefix of the
// training part.
Result<Split> SplitUserData(Dataset full, const std::string& spec, std::size_t limit) {
  if (full.size() < 10) return InvalidArgument(spec + ": too few samples to train (" + std::to_string(full.size()) + ")");
  Split split = SplitDataset(full, kUserValidationFraction, kUserValidationSeed, spec + ":train", spec + ":validation");
  if (limit > 0 && split.first.size() > limit) {
    std::vector<std::size_t> head(limit);
    for (std::size_t i = 0; i < limit; ++i) head[i] = i;
    split.first = Subset(split.first, head, split.first.name);
  }
  return split;
}

void RecordVocabulary(const Vocabulary& v, int seq_len, TrainingData& out) {
  out.model_metadata["text.vocabulary"] = nlohmann::json(v.tokens()).dump();
  out.model_metadata["text.vocab_size"] = std::to_string(v.size());
  out.model_metadata["text.seq_len"] = std::to_string(seq_len);
}

}  // namespace

std::string DefaultTestData(const Model& model) {
  auto it = model.metadata.find("train.data");
  if (it == model.metadata.end()) return "";
  if (it->second == "fashion-mnist") return "fashion-mnist:test";
  if (FindSpamTask(it->second) != nullptr) return it->second + ":test";
  return "";
}

Result<TrainingData> LoadTrainingData(const std::string& spec, const DataSpecOptions& options) {
  DataOptions d = ToDataOptions(options);
  d.text_transform = nullptr;  // training data is read as it is
  TrainingData out;
  if (spec == "fashion-mnist") {
    QUALM_ASSIGN_OR_RETURN(out.train, LoadNamedDataset("fashion-mnist:train", d));
    QUALM_ASSIGN_OR_RETURN(Dataset v, LoadNamedDataset("fashion-mnist:validation", d));
    out.validation = std::move(v);
    return out;
  }
  if (FindSpamTask(spec) != nullptr) {
    QUALM_ASSIGN_OR_RETURN(Vocabulary vocab, NamedDatasetVocabulary(spec + ":train", d));
    DataOptions with_vocab = d;
    with_vocab.vocabulary = std::make_shared<const Vocabulary>(vocab);
    QUALM_ASSIGN_OR_RETURN(out.train, LoadNamedDataset(spec + ":train", with_vocab));
    QUALM_ASSIGN_OR_RETURN(Dataset v, LoadNamedDataset(spec + ":validation", with_vocab));
    out.validation = std::move(v);
    RecordVocabulary(vocab, NamedDatasetSeqLen(spec + ":train", d), out);
    return out;
  }
  if (IsUserData(spec)) {
    // User data: hold out a seeded 10 % for validation.
    DataOptions all = d;
    all.limit = 0;
    if (StartsWith(spec, "text:")) {
      QUALM_ASSIGN_OR_RETURN(Vocabulary vocab, NamedDatasetVocabulary(spec, all));
      all.vocabulary = std::make_shared<const Vocabulary>(vocab);
      RecordVocabulary(vocab, NamedDatasetSeqLen(spec, d), out);
    }
    QUALM_ASSIGN_OR_RETURN(Dataset full, LoadNamedDataset(spec, all));
    QUALM_ASSIGN_OR_RETURN(Split split, SplitUserData(std::move(full), spec, options.limit));
    out.train = std::move(split.first);
    out.validation = std::move(split.second);
    return out;
  }
  return InvalidArgument("unknown training data '" + spec +
                         "' (expected fashion-mnist, spam, spam-brief, images:DIR, idx:IMAGES,LABELS or text:DIR)");
}

Result<Dataset> LoadModelTrainingSplit(const Model& model, const DataSpecOptions& options) {
  auto it = model.metadata.find("train.data");
  if (it == model.metadata.end() || it->second.empty())
    return InvalidArgument("the model records no training data (metadata train.data); name the data explicitly");
  const std::string& spec = it->second;
  DataSpecOptions as_trained = options;
  as_trained.text_transform = nullptr;
  if (spec == "fashion-mnist" || FindSpamTask(spec) != nullptr) return LoadEvalData(spec + ":train", model, as_trained);
  if (IsUserData(spec)) {
    DataSpecOptions all = as_trained;
    all.limit = 0;
    QUALM_ASSIGN_OR_RETURN(Dataset full, LoadEvalData(spec, model, all));
    QUALM_ASSIGN_OR_RETURN(Split split, SplitUserData(std::move(full), spec, options.limit));
    return std::move(split.first);
  }
  return InvalidArgument("the model's recorded training data '" + spec + "' is not a known data spec");
}

Result<Dataset> LoadEvalData(const std::string& spec, const Model& model, const DataSpecOptions& options) {
  if (spec.empty())
    return InvalidArgument("no data set given, and the model's training data has no standard test set; pass --data");
  DataOptions d = ToDataOptions(options);
  if (model.input_type == SampleType::kFloat32 && model.input_shape.size() == 3) {
    d.images.height = static_cast<int>(model.input_shape[0]);
    d.images.width = static_cast<int>(model.input_shape[1]);
    d.images.color = model.input_shape[2] == 3 ? ColorMode::kRgb : ColorMode::kGrey;
  }
  if (model.input_type == SampleType::kInt32) {
    auto it = model.metadata.find("text.vocabulary");
    if (it == model.metadata.end())
      return InvalidArgument("model '" + model.arch + "' reads text but carries no vocabulary (metadata text.vocabulary)");
    const nlohmann::json tokens = nlohmann::json::parse(it->second, nullptr, false);
    if (tokens.is_discarded() || !tokens.is_array())
      return DataLoss("model '" + model.arch + "': its stored vocabulary is not a JSON array");
    QUALM_ASSIGN_OR_RETURN(Vocabulary vocab,
                           Vocabulary::FromTokens(tokens.get<std::vector<std::string>>()));
    d.vocabulary = std::make_shared<const Vocabulary>(std::move(vocab));
    if (auto sl = model.metadata.find("text.seq_len"); sl != model.metadata.end()) d.seq_len = std::stoi(sl->second);
  }
  return LoadNamedDataset(spec, d);
}

}  // namespace qualm::frontends
