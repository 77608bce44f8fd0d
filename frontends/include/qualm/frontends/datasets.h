// qualm/frontends/datasets.h: data sets by name, the one entry point the CLI
// and the study use.
//
// Specs:
//   fashion-mnist:train        55,000 images: train-full minus validation
//   fashion-mnist:validation    5,000 images held out of the training file
//   fashion-mnist:train-full   60,000 images (train-images-idx3-ubyte.gz)
//   fashion-mnist:test         10,000 images (t10k-images-idx3-ubyte.gz)
//   spam:train | spam:validation | spam:test   collection 1 (easy-ham-1 + spam-1), 70/10/20
//   spam:hard-ham              hard-ham-1 (250 ham)
//   spam:later                 easy-ham-2 + spam-2 (collection 2, later in time)
//   spam-brief:<set>           the same sets read as the harder spam-brief task
//                              (spam_assassin.h: SpamTasks())
//   images:<dir>               an image folder (image_folder.h), options.images
//   idx:<images>,<labels>      an IDX pair (idx.h), options.idx_num_classes classes
//   text:<dir>                 a text folder (text.h)
//
// Fashion-MNIST: read from options.fashion_mnist_dir (Debian's
// dataset-fashion-mnist puts the files in /usr/share/datasets/fashion-mnist).
// The validation split is SplitDataset(train-full, 5000/60000,
// kFashionMnistSplitSeed): a seeded, non-stratified draw of exactly 5,000
// images; both parts keep file order.
//
// SpamAssassin (spam_assassin.h): every spam:* set is encoded with
// options.vocabulary when given -- the vocabulary saved with a trained model --
// and otherwise with the vocabulary built from spam:train, which is the same
// for every spam:* spec given the same options. "text:" uses options.vocabulary
// when given, else a vocabulary built from that folder itself (quick
// experiments only: a trained model must be evaluated with its own vocabulary).
//
// options.limit keeps the first N samples of the final set (for fast tests);
// splits and vocabularies are computed on the full data first, so a limited
// set is a prefix of the unlimited one.
//
// The library reads no environment variables: the CLI maps
// QUALM_FASHION_MNIST_DIR and QUALM_DATA_DIR (-> <dir>/spam-assassin/package/data)
// onto these options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/frontends/image_folder.h"
#include "qualm/frontends/text.h"
#include "qualm/status.h"

namespace qualm::frontends {

inline constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr std::uint64_t kFashionMnistSplitSeed = 20170825;  // Fashion-MNIST release date
inline constexpr std::size_t kFashionMnistValidationSize = 5000;

// Class names of Fashion-MNIST, by label.
const std::vector<std::string>& FashionMnistClassNames();

struct DataOptions {
  std::string fashion_mnist_dir = kDefaultFashionMnistDir;
  std::string spam_assassin_dir;  // empty: DefaultSpamAssassinDir()
  std::size_t limit = 0;          // first N samples of the result (0 = all)
  // Text sets.
  int seq_len = 0;  // 0: the task's (spam_assassin.h: 200 for spam, ...); 200 for text:
  std::optional<VocabularyOptions> vocabulary_options;  // empty: the task's (spam: 20000 ids, min count 2)
  std::shared_ptr<const Vocabulary> vocabulary;  // use this instead of building one
  // Applied to the text of every document of the set before tokenization
  // (never to the documents a vocabulary is built from); empty = none.
  TextTransform text_transform;
  // images:
  ImageFolderOptions images;
  // idx:
  int idx_num_classes = 10;
  // Resource limits of every parser (input_limits.h); images.max_image_pixels
  // is taken from here.
  InputLimits limits;
};

Result<Dataset> LoadNamedDataset(const std::string& spec, const DataOptions& options = {});

// The vocabulary a text spec is encoded with (spam:* -> built on spam:train, or
// options.vocabulary; text:<dir> -> built on the folder, or options.vocabulary).
// Save it next to a trained model. Image specs give InvalidArgument.
Result<Vocabulary> NamedDatasetVocabulary(const std::string& spec, const DataOptions& options = {});
// The sequence length a text spec is encoded with: options.seq_len when set,
// else the task's (spam*: spam_assassin.h) or 200 (text:).
int NamedDatasetSeqLen(const std::string& spec, const DataOptions& options = {});

// One line per spec form, for --help texts.
std::string NamedDatasetHelp();

}  // namespace qualm::frontends
