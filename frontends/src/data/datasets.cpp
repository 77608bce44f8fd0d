// Named data sets; see qualm/frontends/datasets.h.
#include "qualm/frontends/datasets.h"

#include "qualm/frontends/idx.h"
#include "qualm/frontends/spam_assassin.h"

namespace qualm::frontends {
namespace {

Dataset FirstN(Dataset ds, std::size_t limit) {
  if (limit == 0 || limit >= ds.size()) return ds;
  std::vector<std::size_t> idx(limit);
  for (std::size_t i = 0; i < limit; ++i) idx[i] = i;
  return Subset(ds, idx, ds.name);
}

Result<Dataset> LoadFashionMnist(const std::string& part, const DataOptions& options) {
  const std::string& dir = options.fashion_mnist_dir;
  IdxOptions idx;
  idx.limits = options.limits;
  idx.num_classes = 10;
  idx.class_names = FashionMnistClassNames();
  const std::string name = "fashion-mnist:" + part;
  auto load = [&](const std::string& prefix) -> Result<Dataset> {
    auto ds = LoadIdxPair(dir + "/" + prefix + "-images-idx3-ubyte.gz", dir + "/" + prefix + "-labels-idx1-ubyte.gz",
                          name, idx);
    if (!ds.ok() && ds.status().code() == StatusCode::kNotFound) {
      return NotFound(ds.status().message() +
                      " (Fashion-MNIST: install dataset-fashion-mnist with scripts/setup.sh, or set the directory)");
    }
    return ds;
  };
  if (part == "test") {
    idx.limit = options.limit;
    return load("t10k");
  }
  if (part == "train-full") {
    idx.limit = options.limit;
    return load("train");
  }
  if (part == "train" || part == "validation") {
    QUALM_ASSIGN_OR_RETURN(Dataset full, load("train"));
    if (full.size() <= kFashionMnistValidationSize) {
      return InvalidArgument(dir + ": Fashion-MNIST training file has only " + std::to_string(full.size()) +
                             " images; cannot hold out " + std::to_string(kFashionMnistValidationSize));
    }
    const double fraction = static_cast<double>(kFashionMnistValidationSize) / static_cast<double>(full.size());
    Split split =
        SplitDataset(full, fraction, kFashionMnistSplitSeed, "fashion-mnist:train", "fashion-mnist:validation");
    return FirstN(part == "train" ? std::move(split.first) : std::move(split.second), options.limit);
  }
  return InvalidArgument("unknown Fashion-MNIST part '" + part + "' (train, validation, train-full, test)");
}

constexpr int kTextFolderSeqLen = 200;

// "spam:test" -> the task "spam"; null for other kinds.
const SpamTask* SpecTask(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  return colon == std::string::npos ? nullptr : FindSpamTask(std::string_view(spec).substr(0, colon));
}

SpamAssassinOptions SpamOptions(const SpamTask& task, const DataOptions& options) {
  SpamAssassinOptions s;
  s.data_dir = options.spam_assassin_dir;
  s.seq_len = options.seq_len > 0 ? options.seq_len : task.seq_len;
  s.vocabulary = options.vocabulary_options ? *options.vocabulary_options : task.vocabulary;
  s.balanced = task.balanced;
  s.validation_fraction = task.validation_fraction;
  s.test_fraction = task.test_fraction;
  s.max_mail_bytes = options.limits.max_mail_bytes;
  return s;
}

Result<Dataset> LoadSpamPart(const SpamTask& task, const std::string& part, const DataOptions& options) {
  TextCorpus SpamAssassinCorpus::*member = nullptr;
  if (part == "train") member = &SpamAssassinCorpus::train;
  else if (part == "validation") member = &SpamAssassinCorpus::validation;
  else if (part == "test") member = &SpamAssassinCorpus::test;
  else if (part == "hard-ham") member = &SpamAssassinCorpus::hard_ham;
  else if (part == "later") member = &SpamAssassinCorpus::later;
  else return InvalidArgument("unknown SpamAssassin set '" + part + "' (train, validation, test, hard-ham, later)");
  if (options.seq_len < 0) return InvalidArgument("seq_len must be positive, got " + std::to_string(options.seq_len));
  const SpamAssassinOptions so = SpamOptions(task, options);
  QUALM_ASSIGN_OR_RETURN(SpamAssassinCorpus corpus, LoadSpamAssassinCorpus(so));
  const Vocabulary vocab = options.vocabulary ? *options.vocabulary : Vocabulary::Build(corpus.train.documents, so.vocabulary);
  TextCorpus& set = corpus.*member;
  if (options.text_transform) {
    QUALM_ASSIGN_OR_RETURN(set, TransformCorpus(set, [](std::string_view raw) { return MailText(raw); },
                                                options.text_transform));
  }
  return FirstN(EncodeCorpus(set, vocab, so.seq_len, task.name + ":" + part), options.limit);
}

Result<Vocabulary> TextFolderVocabulary(const TextCorpus& corpus, const DataOptions& options) {
  if (options.vocabulary) return *options.vocabulary;
  return Vocabulary::Build(corpus.documents, options.vocabulary_options.value_or(VocabularyOptions{}));
}

}  // namespace

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

Result<Dataset> LoadNamedDataset(const std::string& spec, const DataOptions& options) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos || colon + 1 == spec.size()) {
    return InvalidArgument("data set spec '" + spec + "' is not <kind>:<part or path>; known forms:\n" +
                           NamedDatasetHelp());
  }
  const std::string kind = spec.substr(0, colon), arg = spec.substr(colon + 1);
  if (const SpamTask* task = FindSpamTask(kind)) return LoadSpamPart(*task, arg, options);
  if (options.text_transform && kind != "text")
    return InvalidArgument("'" + spec + "' is not a text data set; a text transform cannot apply to it");
  if (kind == "fashion-mnist") return LoadFashionMnist(arg, options);
  if (kind == "images") {
    ImageFolderOptions img = options.images;
    img.max_image_pixels = options.limits.max_image_pixels;
    if (options.limit > 0) img.limit = options.limit;
    return LoadImageFolder(arg, img);
  }
  if (kind == "idx") {
    const std::size_t comma = arg.find(',');
    if (comma == std::string::npos) return InvalidArgument("idx spec needs two files: idx:<images>,<labels>");
    IdxOptions idx;
    idx.limits = options.limits;
    idx.limit = options.limit;
    idx.num_classes = options.idx_num_classes;
    return LoadIdxPair(arg.substr(0, comma), arg.substr(comma + 1), spec, idx);
  }
  if (kind == "text") {
    if (options.seq_len < 0) return InvalidArgument("seq_len must be positive");
    QUALM_ASSIGN_OR_RETURN(TextCorpus corpus, LoadTextFolder(arg, options.limits.max_text_file_bytes));
    QUALM_ASSIGN_OR_RETURN(Vocabulary vocab, TextFolderVocabulary(corpus, options));
    if (options.text_transform) {
      QUALM_ASSIGN_OR_RETURN(corpus, TransformCorpus(corpus, {}, options.text_transform));
    }
    return FirstN(EncodeCorpus(corpus, vocab, NamedDatasetSeqLen(spec, options), spec), options.limit);
  }
  return InvalidArgument("unknown data set kind '" + kind + "' in '" + spec + "'; known forms:\n" +
                         NamedDatasetHelp());
}

Result<Vocabulary> NamedDatasetVocabulary(const std::string& spec, const DataOptions& options) {
  if (const SpamTask* task = SpecTask(spec)) {
    if (options.vocabulary) return *options.vocabulary;
    const SpamAssassinOptions so = SpamOptions(*task, options);
    QUALM_ASSIGN_OR_RETURN(SpamAssassinCorpus corpus, LoadSpamAssassinCorpus(so));
    return Vocabulary::Build(corpus.train.documents, so.vocabulary);
  }
  if (spec.rfind("text:", 0) == 0) {
    QUALM_ASSIGN_OR_RETURN(TextCorpus corpus, LoadTextFolder(spec.substr(5)));
    return TextFolderVocabulary(corpus, options);
  }
  return InvalidArgument("data set '" + spec + "' is not a text data set; it has no vocabulary");
}

int NamedDatasetSeqLen(const std::string& spec, const DataOptions& options) {
  if (options.seq_len > 0) return options.seq_len;
  if (const SpamTask* task = SpecTask(spec)) return task->seq_len;
  return kTextFolderSeqLen;
}

std::string NamedDatasetHelp() {
  return "  fashion-mnist:train | validation | train-full | test   (55000 / 5000 / 60000 / 10000 images)\n"
         "  spam:train | validation | test | hard-ham | later     (SpamAssassin; 2100 / 300 / 600 / 250 / 2796)\n"
         "  spam-brief:<set>         the same sets as the harder spam-brief task (balanced; first 8 tokens; 550 / 150 / 300 / 250 / 2796)\n"
         "  images:<dir>             one subfolder per class of PNG/JPEG/BMP files\n"
         "  idx:<images>,<labels>    an IDX pair, gzip-compressed or raw\n"
         "  text:<dir>               one subfolder per class of .txt documents\n";
}

}  // namespace qualm::frontends
