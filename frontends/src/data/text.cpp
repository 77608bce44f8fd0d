// Tokenizer, vocabulary, sequence encoding, text folders; see qualm/frontends/text.h.
#include "qualm/frontends/text.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io_util.h"
#include "qualm/frontends/input_limits.h"

namespace qualm::frontends {
namespace {

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsWordBreak(unsigned char c) {
  return IsSpace(c) || c == '<' || c == '>' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
         c == '}' || c == '"' || c == '\'' || c == '`';
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(unsigned char c) { return IsDigit(c) || IsAlpha(c); }
char Lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsUrl(std::string_view w) {
  return w.find("://") != std::string_view::npos || StartsWithNoCase(w, "www.");
}

bool IsEmail(std::string_view w) {
  // Trim surrounding punctuation, allow a "mailto:" prefix.
  while (!w.empty() && !IsAlnum(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
  while (!w.empty() && !IsAlnum(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
  if (StartsWithNoCase(w, "mailto:")) w.remove_prefix(7);
  const std::size_t at = w.find('@');
  if (at == std::string_view::npos || at == 0 || w.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view local = w.substr(0, at), domain = w.substr(at + 1);
  for (unsigned char c : local) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-') return false;
  }
  for (unsigned char c : domain) {
    if (!IsAlnum(c) && c != '.' && c != '-') return false;
  }
  const std::size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view tld = domain.substr(dot + 1);
  if (tld.size() < 2) return false;
  return std::all_of(tld.begin(), tld.end(), [](unsigned char c) { return IsAlpha(c); });
}

bool AllDigits(std::string_view s, std::size_t b, std::size_t e) {
  for (std::size_t i = b; i < e; ++i) {
    if (!IsDigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return e > b;
}

void SplitWord(std::string_view w, std::vector<std::string>& out) {
  const std::size_t n = w.size();
  std::size_t i = 0;
  while (i < n) {
    if (!IsAlnum(static_cast<unsigned char>(w[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && IsAlnum(static_cast<unsigned char>(w[j]))) ++j;
    if (AllDigits(w, i, j)) {
      // Extend over "<digits>[.,]<digits>" groups: 15.95, 1,000,000.
      while (j + 1 < n && (w[j] == '.' || w[j] == ',') && IsDigit(static_cast<unsigned char>(w[j + 1]))) {
        std::size_t k = j + 1;
        while (k < n && IsAlnum(static_cast<unsigned char>(w[k]))) ++k;
        if (!AllDigits(w, j + 1, k)) break;
        j = k;
      }
      out.emplace_back(kNumberToken);
    } else if (j - i <= kMaxTokenLength) {
      std::string piece(j - i, '\0');
      for (std::size_t k = i; k < j; ++k) piece[k - i] = Lower(static_cast<unsigned char>(w[k]));
      out.push_back(std::move(piece));
    }
    i = j;
  }
}

}  // namespace

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && IsWordBreak(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < n && !IsWordBreak(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) {
      const std::string_view w = text.substr(i, j - i);
      if (IsUrl(w)) out.emplace_back(kUrlToken);
      else if (w.find('@') != std::string_view::npos && IsEmail(w)) out.emplace_back(kEmailToken);
      else SplitWord(w, out);
    }
    i = j;
  }
  return out;
}

Vocabulary::Vocabulary() : tokens_{kPadToken, kUnknownToken} {
  ids_.emplace(kPadToken, kPadId);
  ids_.emplace(kUnknownToken, kUnknownId);
}

Vocabulary Vocabulary::Build(const std::vector<std::vector<std::string>>& documents,
                             const VocabularyOptions& options) {
  std::unordered_map<std::string, std::size_t> counts;
  for (const auto& doc : documents) {
    for (const auto& t : doc) ++counts[t];
  }
  std::vector<std::pair<std::string, std::size_t>> entries;
  for (auto& [token, count] : counts) {
    if (count >= options.min_count && token != kPadToken && token != kUnknownToken) entries.emplace_back(token, count);
  }
  // Most frequent first; equal counts by token byte order: independent of
  // hash-map iteration and of document order.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocabulary v;
  const std::size_t room = options.max_size > 2 ? options.max_size - 2 : 0;
  if (entries.size() > room) entries.resize(room);
  v.tokens_.reserve(2 + entries.size());
  for (auto& e : entries) {
    v.ids_.emplace(e.first, static_cast<std::int32_t>(v.tokens_.size()));
    v.tokens_.push_back(std::move(e.first));
  }
  return v;
}

Result<Vocabulary> Vocabulary::FromTokens(std::vector<std::string> tokens) {
  if (tokens.size() < 2 || tokens[0] != kPadToken || tokens[1] != kUnknownToken) {
    return InvalidArgument("vocabulary must start with \"<pad>\", \"<unk>\"");
  }
  Vocabulary v;
  v.tokens_ = std::move(tokens);
  v.ids_.clear();
  for (std::size_t i = 0; i < v.tokens_.size(); ++i) {
    if (!v.ids_.emplace(v.tokens_[i], static_cast<std::int32_t>(i)).second) {
      return InvalidArgument("vocabulary token \"" + v.tokens_[i] + "\" appears twice (ids " +
                             std::to_string(v.ids_[v.tokens_[i]]) + " and " + std::to_string(i) + ")");
    }
  }
  return v;
}

std::int32_t Vocabulary::Id(std::string_view token) const {
  const auto it = ids_.find(std::string(token));
  return it == ids_.end() ? kUnknownId : it->second;
}

Status SaveVocabulary(const Vocabulary& vocabulary, const std::string& path) {
  nlohmann::json j;
  j["format"] = "qualm-vocabulary";
  j["version"] = 1;
  j["tokens"] = vocabulary.tokens();
  std::ofstream f(path, std::ios::binary);
  if (!f) return IoError(path + ": cannot create vocabulary file");
  // Tokens are ASCII by construction; replace invalid UTF-8 rather than throw
  // if a caller built a vocabulary from other bytes.
  f << j.dump(0, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!f) return IoError(path + ": write error");
  return Status::Ok();
}

Result<Vocabulary> LoadVocabulary(const std::string& path) {
  QUALM_ASSIGN_OR_RETURN(std::string text,
                         detail::ReadWholeFile(path, InputLimits{}.max_text_file_bytes, "max_text_file_bytes"));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(path + ": vocabulary file is not valid JSON");
  // Not j.value("format", ""): it throws when "format" is not a string (found
  // by fuzz/fuzz_text.cpp: {"format": 0} escaped as an exception).
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"] != "qualm-vocabulary") {
    return InvalidArgument(path + ": not a qualm vocabulary file (missing \"format\": \"qualm-vocabulary\")");
  }
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != 1) {
    return InvalidArgument(path + ": unsupported vocabulary version");
  }
  if (!j.contains("tokens") || !j["tokens"].is_array()) return InvalidArgument(path + ": \"tokens\" must be an array");
  std::vector<std::string> tokens;
  tokens.reserve(j["tokens"].size());
  for (const auto& t : j["tokens"]) {
    if (!t.is_string()) return InvalidArgument(path + ": token " + std::to_string(tokens.size()) + " is not a string");
    tokens.push_back(t.get<std::string>());
  }
  auto v = Vocabulary::FromTokens(std::move(tokens));
  if (!v.ok()) return v.status().WithContext(path);
  return v;
}

std::vector<std::int32_t> EncodeTokens(const Vocabulary& vocabulary, const std::vector<std::string>& tokens,
                                       int seq_len) {
  const std::size_t len = seq_len > 0 ? static_cast<std::size_t>(seq_len) : 0;
  std::vector<std::int32_t> out(len, kPadId);
  const std::size_t n = std::min(tokens.size(), len);
  const std::size_t offset = len - n;  // pre-padding
  for (std::size_t k = 0; k < n; ++k) out[offset + k] = vocabulary.Id(tokens[k]);
  return out;
}

Dataset EncodeCorpus(const TextCorpus& corpus, const Vocabulary& vocabulary, int seq_len, const std::string& name) {
  Dataset ds;
  ds.name = name;
  ds.sample_type = SampleType::kInt32;
  ds.sample_shape = {seq_len};
  ds.num_classes = static_cast<int>(corpus.class_names.size());
  ds.class_names = corpus.class_names;
  ds.labels = corpus.labels;
  ds.i32.reserve(corpus.size() * static_cast<std::size_t>(std::max(seq_len, 0)));
  for (const auto& doc : corpus.documents) {
    const auto ids = EncodeTokens(vocabulary, doc, seq_len);
    ds.i32.insert(ds.i32.end(), ids.begin(), ids.end());
  }
  return ds;
}

Result<TextCorpus> LoadTextFolder(const std::string& dir, std::uint64_t max_file_bytes) {
  auto classes = detail::ListDir(dir, /*want_dirs=*/true);
  if (!classes.ok()) return NotFound(dir + ": text corpus directory not found (expected <dir>/<class>/*.txt)");
  if (classes->empty()) return InvalidArgument(dir + ": text corpus has no class subdirectories");
  TextCorpus corpus;
  corpus.name = dir;
  corpus.class_names = *classes;
  for (std::size_t c = 0; c < classes->size(); ++c) {
    const std::string class_dir = dir + "/" + (*classes)[c];
    QUALM_ASSIGN_OR_RETURN(std::vector<std::string> files, detail::ListDir(class_dir, /*want_dirs=*/false));
    std::size_t used = 0;
    for (const auto& f : files) {
      if (detail::LowerExtension(f) != ".txt") continue;
      const std::string path = class_dir + "/" + f;
      QUALM_ASSIGN_OR_RETURN(std::string text, detail::ReadWholeFile(path, max_file_bytes, "max_text_file_bytes"));
      corpus.documents.push_back(Tokenize(text));
      corpus.labels.push_back(static_cast<std::int32_t>(c));
      corpus.sources.push_back(path);
      ++used;
    }
    if (used == 0) return InvalidArgument(class_dir + ": class folder has no .txt documents");
  }
  return corpus;
}

Result<TextCorpus> TransformCorpus(const TextCorpus& corpus,
                                   const std::function<std::string(std::string_view raw)>& extract,
                                   const TextTransform& transform) {
  if (corpus.sources.size() != corpus.size())
    return InvalidArgument(corpus.name + ": cannot transform the documents' text: their source files are not known");
  TextCorpus out = corpus;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    QUALM_ASSIGN_OR_RETURN(std::string raw, detail::ReadWholeFile(corpus.sources[i]));
    std::string text = extract ? extract(raw) : std::move(raw);
    out.documents[i] = Tokenize(transform ? transform(text, i) : text);
  }
  return out;
}

}  // namespace qualm::frontends
