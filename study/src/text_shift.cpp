#include "qualm/study/text_shift.h"

#include <array>
#include <utility>

#include "qualm/engine/random.h"
#include "qualm/frontends/text.h"

namespace qualm::study {
namespace {

using Transform = std::function<std::string(std::string_view, std::size_t)>;

// Thresholds per severity 1..5, compared with Rng::Uniform() (24-bit, exact).
constexpr std::array<float, 5> kTypoRate = {0.02f, 0.04f, 0.07f, 0.10f, 0.15f};
constexpr std::array<float, 5> kWordRate = {0.05f, 0.10f, 0.20f, 0.30f, 0.50f};
constexpr std::array<std::size_t, 5> kShuffleWindow = {2, 3, 5, 8, 13};

// FNV-1a of the type name: adding a type never changes another type's bytes.
std::uint64_t NameHash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::uint64_t Mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t DocumentSeed(std::uint64_t seed, std::uint64_t type_hash, std::size_t index) {
  return Mix(Mix(seed * 0x9E3779B97F4A7C15ull + type_hash) + static_cast<std::uint64_t>(index) * 0xD6E8FEB86659FD93ull);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLetter(char c) { return IsLower(c) || IsUpper(c); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLetter(c) || IsDigit(c); }

// QWERTY neighbours of each lowercase letter.
const char* Neighbours(char lower) {
  static const char* const table[26] = {"qwsz", "vghn", "xdfv", "erfsxc", "wrsd", "rtdgcv", "tyfhvb", "yugjbn", "uojk",
                                        "uihknm", "iojlm", "opk", "njk", "bhjm", "ipkl", "ol", "wa", "etdf", "weadzx",
                                        "ryfg", "yihj", "cfgb", "qeas", "zsdc", "tugh", "asx"};
  return table[lower - 'a'];
}

char NeighbourOf(char c, std::uint64_t draw) {
  const bool upper = IsUpper(c);
  const char lower = upper ? static_cast<char>(c - 'A' + 'a') : c;
  const std::string_view n = Neighbours(lower);
  const char r = n[draw % n.size()];
  return upper ? static_cast<char>(r - 'a' + 'A') : r;
}

// A text as alternating whitespace runs and words: text = seps[0] words[0]
// seps[1] words[1] ... seps[n] (seps has one more entry than words).
struct Words {
  std::vector<std::string> seps, words;
  explicit Words(std::string_view t) {
    std::size_t i = 0;
    while (true) {
      std::size_t j = i;
      while (j < t.size() && IsSpace(t[j])) ++j;
      seps.emplace_back(t.substr(i, j - i));
      if (j == t.size()) break;
      std::size_t k = j;
      while (k < t.size() && !IsSpace(t[k])) ++k;
      words.emplace_back(t.substr(j, k - j));
      i = k;
    }
  }
  std::string Join() const {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) out += seps[i] + words[i];
    return out + seps.back();
  }
};

std::string Typos(std::string_view text, int severity, Rng& rng) {
  const float rate = kTypoRate[static_cast<std::size_t>(severity - 1)];
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  bool skip_next = false;  // the letter was already emitted by a swap
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!IsLetter(c)) {
      out += c;
      skip_next = false;
      continue;
    }
    // Three draws per letter at every severity (nested severities).
    const float u = rng.Uniform();
    const std::uint64_t kind = rng.Below(4);
    const std::uint64_t pick = rng.NextU64();
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (u >= rate) {
      out += c;
      continue;
    }
    const bool next_is_letter = i + 1 < text.size() && IsLetter(text[i + 1]);
    switch (kind) {
      case 0:  // swap with the next letter; a letter with none is replaced instead
        if (next_is_letter && text[i + 1] != c) {
          out += text[i + 1];
          out += c;
          skip_next = true;
        } else {
          out += NeighbourOf(c, pick);
        }
        break;
      case 1:  // dropped
        break;
      case 2:  // a neighbouring key typed after it
        out += c;
        out += NeighbourOf(c, pick);
        break;
      default:  // a neighbouring key instead
        out += NeighbourOf(c, pick);
        break;
    }
  }
  return out;
}

std::string DropWords(std::string_view text, int severity, Rng& rng) {
  const float rate = kWordRate[static_cast<std::size_t>(severity - 1)];
  Words w(text);
  std::string out;
  for (std::size_t i = 0; i < w.words.size(); ++i) {
    out += w.seps[i];
    if (rng.Uniform() >= rate) out += w.words[i];
  }
  return out + w.seps.back();
}

std::string InsertWords(std::string_view text, int severity, Rng& rng) {
  const float rate = kWordRate[static_cast<std::size_t>(severity - 1)];
  Words w(text);
  std::string out;
  for (std::size_t i = 0; i < w.words.size(); ++i) {
    out += w.seps[i] + w.words[i];
    const float u = rng.Uniform();
    const std::uint64_t pick = rng.Below(w.words.size());
    if (u < rate) out += " " + w.words[pick];
  }
  return out + w.seps.back();
}

std::string ShuffleWindow(std::string_view text, int severity, Rng& rng) {
  const std::size_t window = kShuffleWindow[static_cast<std::size_t>(severity - 1)];
  Words w(text);
  for (std::size_t begin = 0; begin < w.words.size(); begin += window) {
    const std::size_t n = std::min(window, w.words.size() - begin);
    for (std::size_t k = n; k > 1; --k) std::swap(w.words[begin + k - 1], w.words[begin + rng.Below(k)]);
  }
  return w.Join();
}

// Deletes digit runs the tokenizer reads as <num> (digits with '.' or ','
// between digits, not touching a letter or digit on either side).
std::string RemoveNumbers(std::string_view t) {
  std::string out;
  std::size_t i = 0;
  while (i < t.size()) {
    const bool starts = IsDigit(t[i]) && (i == 0 || !IsAlnum(t[i - 1]));
    if (!starts) {
      out += t[i++];
      continue;
    }
    std::size_t j = i;
    while (j < t.size()) {
      if (IsDigit(t[j])) ++j;
      else if ((t[j] == '.' || t[j] == ',') && j + 1 < t.size() && IsDigit(t[j + 1])) j += 2;
      else break;
    }
    if (j < t.size() && IsLetter(t[j])) out.append(t.substr(i, j - i));  // part of a word like "2k"
    i = j;
  }
  return out;
}

std::string StripFormat(std::string_view text, int level) {
  // Line level: quoted reply lines (3+), the subject line (4+).
  std::string lines;
  std::size_t pos = 0;
  bool first = true;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    std::size_t k = 0;
    while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
    const bool quoted = k < line.size() && line[k] == '>';
    const bool drop = (first && level >= 4) || (!first && quoted && level >= 3);
    if (!drop) {
      lines.append(line);
      if (end < text.size()) lines += '\n';
    } else if (first && end < text.size()) {
      lines += '\n';  // keep the subject / body boundary even when the subject goes
    }
    first = false;
    if (end == text.size()) break;
    pos = end + 1;
  }
  // Word level: URLs and e-mail addresses (1+), as the tokenizer sees them.
  Words w(lines);
  std::string out;
  for (std::size_t i = 0; i < w.words.size(); ++i) {
    out += w.seps[i];
    const std::vector<std::string> tokens = frontends::Tokenize(w.words[i]);
    const bool address = tokens.size() == 1 && (tokens[0] == frontends::kUrlToken || tokens[0] == frontends::kEmailToken);
    if (!address) out += w.words[i];
  }
  out += w.seps.back();
  if (level >= 2) out = RemoveNumbers(out);
  if (level >= 5) {
    std::string joined;
    for (char c : out)
      if (IsAlnum(c) || IsSpace(c) || static_cast<unsigned char>(c) >= 0x80) joined += c;
    out = std::move(joined);
  }
  return out;
}

using Kernel = std::string (*)(std::string_view, int, Rng&);

struct ShiftType {
  TextShiftInfo info;
  Kernel kernel;  // null: strip-format (deterministic)
};

const std::vector<ShiftType>& Types() {
  static const std::vector<ShiftType> types = {
      {{"typos", "keyboard typos (swap, drop, insert or substitute a neighbouring key) on 2-15 % of letters"}, Typos},
      {{"drop-words", "5-50 % of words deleted"}, DropWords},
      {{"insert-words", "after 5-50 % of words, a copy of a word of the same document inserted"}, InsertWords},
      {{"shuffle-window", "word order shuffled inside windows of 2, 3, 5, 8, 13 words"}, ShuffleWindow},
      {{"strip-format", "1 URLs/e-mail addresses, 2 + numbers, 3 + quoted lines, 4 + subject, 5 + punctuation "
                        "removed"},
       nullptr},
  };
  return types;
}

std::string TypeList() {
  std::string list;
  for (const auto& t : Types()) list += (list.empty() ? "" : ", ") + t.info.name;
  return list;
}

}  // namespace

const std::vector<TextShiftInfo>& TextShifts() {
  static const std::vector<TextShiftInfo> infos = [] {
    std::vector<TextShiftInfo> v;
    for (const auto& t : Types()) v.push_back(t.info);
    return v;
  }();
  return infos;
}

bool IsTextShift(const std::string& name) {
  for (const auto& t : Types())
    if (t.info.name == name) return true;
  return false;
}

Result<Transform> TextShiftTransform(const std::string& type, int severity, std::uint64_t seed) {
  const ShiftType* found = nullptr;
  for (const auto& t : Types())
    if (t.info.name == type) found = &t;
  if (!found) return InvalidArgument("unknown text shift '" + type + "' (known: " + TypeList() + ")");
  if (severity < 1 || severity > kTextShiftSeverities)
    return InvalidArgument("text shift severity must be 1 to " + std::to_string(kTextShiftSeverities) + ", got " +
                           std::to_string(severity));
  const Kernel kernel = found->kernel;
  if (!kernel) return Transform([severity](std::string_view text, std::size_t) { return StripFormat(text, severity); });
  const std::uint64_t type_hash = NameHash(type);
  return Transform([kernel, severity, seed, type_hash](std::string_view text, std::size_t index) {
    Rng rng(DocumentSeed(seed, type_hash, index));
    return kernel(text, severity, rng);
  });
}

Result<TextShiftSpec> ParseTextShiftSpec(const std::string& spec) {
  const std::size_t colon = spec.rfind(':');
  TextShiftSpec out;
  out.type = spec.substr(0, colon);
  if (!IsTextShift(out.type))
    return InvalidArgument("unknown text shift '" + out.type + "' in '" + spec + "' (known: " + TypeList() +
                           "; the form is TYPE:SEVERITY)");
  const std::string sev = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (sev.size() != 1 || sev[0] < '1' || sev[0] > '0' + kTextShiftSeverities)
    return InvalidArgument("text shift '" + spec + "': severity must be 1 to " + std::to_string(kTextShiftSeverities) +
                           " (the form is TYPE:SEVERITY)");
  out.severity = sev[0] - '0';
  return out;
}

}  // namespace qualm::study
