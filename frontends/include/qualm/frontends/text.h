// qualm/frontends/text.h: text to token ids, shared by every text data set.
//
// Pipeline: document text -> Tokenize() -> token strings -> Vocabulary (built
// on a training split only) -> EncodeTokens() -> fixed-length i32 sequence.
//
// Tokenizer rules (Tokenize), applied to bytes, deterministic, locale-free:
//  1. The text is cut into whitespace-separated words (also cut at the
//     bracket/quote characters < > ( ) [ ] { } " ' ` so markup-like text splits).
//  2. A word containing "://" or starting with "www." (any case) becomes the
//     single token "<url>"; a word of the form local@domain.tld (after trimming
//     surrounding punctuation; "mailto:" allowed in front) becomes "<email>".
//  3. Other words are lowercased (ASCII) and split on every byte that is not an
//     ASCII letter or digit (punctuation, symbols, and all non-ASCII bytes,
//     since the corpora mix charsets and we do not transcode).
//  4. A number -- a run of digits, with '.' or ',' allowed between digits, so
//     "15.95", "1,000,000" and "2002" are one number -- becomes "<num>".
//     Pieces mixing letters and digits ("mp3", "win2k") are kept as they are.
//  5. Other pieces longer than kMaxTokenLength (24) characters are dropped: in
//     mail they are encoded blobs, hashes and ids, not words.
//
// Vocabulary: ids 0 = <pad> and 1 = <unk>, then the most frequent training
// tokens (total occurrence counts), at least min_count occurrences, ties broken
// by the token string (byte order) so the result does not depend on hash-map
// iteration order or on the order documents were read. max_size counts every
// id including <pad> and <unk>, so it is exactly the embedding table's rows.
//
// Sequences (EncodeTokens): the FIRST seq_len tokens of a document are kept
// (subject and opening lines carry most of the signal; the tails of mails are
// signatures, quoted replies and legal text) and shorter documents are
// PRE-padded with 0 on the left, so the last time step of a recurrent network
// always reads real text rather than a run of padding.
//
// Generic user text corpus (LoadTextFolder): a directory with one subdirectory
// per class; class ids are the subdirectory names in sorted (byte) order; each
// regular file ending in .txt inside (not recursive) is one document, read as
// bytes and tokenized with the rules above. Hidden entries are ignored. For a
// model trained on SpamAssassin, name the classes "ham" and "spam".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/status.h"

namespace qualm::frontends {

inline constexpr std::size_t kMaxTokenLength = 24;
inline constexpr const char* kPadToken = "<pad>";
inline constexpr const char* kUnknownToken = "<unk>";
inline constexpr const char* kNumberToken = "<num>";
inline constexpr const char* kUrlToken = "<url>";
inline constexpr const char* kEmailToken = "<email>";
inline constexpr std::int32_t kPadId = 0;
inline constexpr std::int32_t kUnknownId = 1;

std::vector<std::string> Tokenize(std::string_view text);

struct VocabularyOptions {
  std::size_t max_size = 20000;  // ids in total, including <pad> and <unk>
  std::size_t min_count = 2;     // a token must occur this often in the training documents
};

class Vocabulary {
 public:
  Vocabulary();  // just <pad> and <unk>
  // Builds from tokenized training documents with the rule in the file header.
  static Vocabulary Build(const std::vector<std::vector<std::string>>& documents, const VocabularyOptions& options);
  // From an explicit id -> token list; entries 0 and 1 must be <pad> and <unk>, no duplicates.
  static Result<Vocabulary> FromTokens(std::vector<std::string> tokens);

  std::int32_t Id(std::string_view token) const;  // kUnknownId when absent
  const std::string& Token(std::int32_t id) const { return tokens_[static_cast<std::size_t>(id)]; }
  std::size_t size() const { return tokens_.size(); }
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> ids_;
};

// JSON file {"format": "qualm-vocabulary", "version": 1, "tokens": [...]}
// (array index = id). Errors name the file.
Status SaveVocabulary(const Vocabulary& vocabulary, const std::string& path);
Result<Vocabulary> LoadVocabulary(const std::string& path);

// First seq_len tokens, ids via `vocabulary`, pre-padded with kPadId.
std::vector<std::int32_t> EncodeTokens(const Vocabulary& vocabulary, const std::vector<std::string>& tokens,
                                       int seq_len);

// Labelled, tokenized documents before encoding (so a vocabulary can be built
// from one split and applied to the others).
struct TextCorpus {
  std::string name;
  std::vector<std::vector<std::string>> documents;  // tokens per document
  std::vector<std::int32_t> labels;
  std::vector<std::string> sources;                 // file each document came from (may be empty)
  std::vector<std::string> class_names;
  std::size_t size() const { return labels.size(); }
};

// Encodes every document: Dataset with sample_type kInt32, sample_shape {seq_len}.
Dataset EncodeCorpus(const TextCorpus& corpus, const Vocabulary& vocabulary, int seq_len, const std::string& name);

// A per-document text transform (study/text_shift.h makes them): maps the text
// of document `index` of a set (its position in that set) to the text that is
// tokenized instead. An empty function means none.
using TextTransform = std::function<std::string(std::string_view text, std::size_t index)>;

// Re-reads every document of `corpus` from its source file, turns the bytes
// into the document's text with `extract` (the bytes as they are when empty),
// applies `transform` and tokenizes the result. Labels, sources and order are
// kept. Errors: a document without a source file, unreadable files (named).
Result<TextCorpus> TransformCorpus(const TextCorpus& corpus,
                                   const std::function<std::string(std::string_view raw)>& extract,
                                   const TextTransform& transform);

// The folder layout in the file header. Errors: missing directory, no class
// subdirectories, a class with no .txt files, unreadable files (named).
// A file larger than max_file_bytes (InputLimits::max_text_file_bytes) is an error.
Result<TextCorpus> LoadTextFolder(const std::string& dir, std::uint64_t max_file_bytes = 64u << 20);

}  // namespace qualm::frontends
