// Synthetic text shifts (study/text_shift.h): exact outputs where they can be
// worked out by hand (strip-format), golden hashes for the seeded types,
// determinism, nested severities, the amount of change rising with severity,
// and the committed LSTM/GRU losing accuracy as the shifts get stronger.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "qualm/engine/evaluate.h"
#include "qualm/engine/random.h"
#include "qualm/frontends/model_file.h"
#include "qualm/frontends/spam_assassin.h"
#include "qualm/frontends/text.h"
#include "qualm/study/text_shift.h"

namespace qualm::study {
namespace {

const char* const kSample =
    "Re: [ILUG] Cheap meds, 50% off!\n"
    "Hi Bob,\n"
    "> you wrote: call 555-1234\n"
    "Visit http://x.example.com or mail me@example.org today; don't wait. Win 1,000 dollars in 2002 with mp3s.\n";

std::string Apply(const std::string& type, int severity, std::uint64_t seed, std::string_view text, std::size_t index) {
  auto t = TextShiftTransform(type, severity, seed);
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  return (*t)(text, index);
}

std::uint64_t Fnv(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::vector<std::string> Words(std::string_view t) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    std::size_t j = i;
    while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
    if (j > i) out.emplace_back(t.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsSubsequence(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  std::size_t k = 0;
  for (const auto& w : big)
    if (k < small.size() && small[k] == w) ++k;
  return k == small.size();
}

std::size_t Lcs(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::size_t> row(b.size() + 1, 0), prev(b.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j)
      row[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], row[j - 1]);
    std::swap(row, prev);
  }
  return prev[b.size()];
}

// Fraction of the model-visible tokens changed: 1 - LCS / longer length.
double TokensChanged(std::string_view before, std::string_view after) {
  const auto a = frontends::Tokenize(before), b = frontends::Tokenize(after);
  const std::size_t n = std::max(a.size(), b.size());
  return n == 0 ? 0.0 : 1.0 - static_cast<double>(Lcs(a, b)) / static_cast<double>(n);
}

// Mail-like documents: a subject line, words, numbers, addresses, quoted lines.
std::vector<std::string> SyntheticMails(int count) {
  const char* const words[] = {"the", "offer", "free", "money", "meeting", "tomorrow", "please", "click", "here",
                               "don't", "e-mail", "list", "patch", "kernel", "we're", "U.S.A.", "win", "cash",
                               "report", "thanks", "anyone", "know", "how", "to", "fix", "this", "(really)", "now!"};
  Rng rng(99);
  std::vector<std::string> mails;
  for (int d = 0; d < count; ++d) {
    std::string m = "Subject words ";
    m += words[rng.Below(28)];
    m += ' ';
    m += words[rng.Below(28)];
    m += '\n';
    for (int w = 0; w < 120; ++w) {
      const std::uint64_t r = rng.Below(40);
      if (r == 0) {
        m += "http://www.example.com/x";
        m += std::to_string(w);
      } else if (r == 1) {
        m += "user";
        m += std::to_string(w);
        m += "@example.org";
      } else if (r == 2) {
        m += std::to_string(rng.Below(100000));
      } else if (r == 3) {
        m += "\n> quoted ";
        m += words[rng.Below(28)];
        m += '\n';
      } else {
        m += words[rng.Below(28)];
      }
      m += (w % 12 == 11) ? "\n" : " ";
    }
    mails.push_back(m);
  }
  return mails;
}

}  // namespace

TEST_CASE("text shift: strip-format levels on a hand-worked mail") {
  CHECK(Apply("strip-format", 1, 1, kSample, 0) ==
        "Re: [ILUG] Cheap meds, 50% off!\nHi Bob,\n> you wrote: call 555-1234\n"
        "Visit  or mail  today; don't wait. Win 1,000 dollars in 2002 with mp3s.\n");
  CHECK(Apply("strip-format", 2, 1, kSample, 0) ==
        "Re: [ILUG] Cheap meds, % off!\nHi Bob,\n> you wrote: call -\n"
        "Visit  or mail  today; don't wait. Win  dollars in  with mp3s.\n");
  CHECK(Apply("strip-format", 3, 1, kSample, 0) ==
        "Re: [ILUG] Cheap meds, % off!\nHi Bob,\nVisit  or mail  today; don't wait. Win  dollars in  with mp3s.\n");
  CHECK(Apply("strip-format", 4, 1, kSample, 0) ==
        "\nHi Bob,\nVisit  or mail  today; don't wait. Win  dollars in  with mp3s.\n");
  CHECK(Apply("strip-format", 5, 1, kSample, 0) == "\nHi Bob\nVisit  or mail  today dont wait Win  dollars in  with mp3s\n");
  // No randomness: seed and index do not matter.
  CHECK(Apply("strip-format", 5, 1, kSample, 0) == Apply("strip-format", 5, 77, kSample, 12));
}

TEST_CASE("text shift: golden hashes of the seeded types") {
  // Recorded from this implementation; a change here changes every shifted
  // data set of the study, so it must be deliberate.
  struct Golden {
    const char* type;
    int severity;
    std::uint64_t hash;
  };
  const Golden golden[] = {
      {"typos", 1, 0x1875c40e9073869bull},
      {"typos", 3, 0xaecbba8ee99afd8dull},
      {"typos", 5, 0x9deb2936d87f9bd3ull},
      {"drop-words", 1, 0xa38e44d2359b0eefull},
      {"drop-words", 3, 0x82a4adb9419dd26dull},
      {"drop-words", 5, 0x0321720c25c94d2aull},
      {"insert-words", 1, 0xb7b6f56ea1b8dc0bull},
      {"insert-words", 3, 0x14bb7a944a94e7f6ull},
      {"insert-words", 5, 0x9a94d70277edcfdaull},
      {"shuffle-window", 1, 0x4b08cf6e00c3fb7cull},
      {"shuffle-window", 3, 0x2b636b05db93054aull},
      {"shuffle-window", 5, 0xc8483291263cdf90ull},
      {"strip-format", 3, 0x3d7f2a14f49e20d7ull},
  };
  for (const Golden& g : golden) {
    const std::string out = Apply(g.type, g.severity, 42, kSample, 3);
    INFO(g.type << ":" << g.severity << " -> " << out);
    CHECK(Fnv(out) == g.hash);
  }
}

TEST_CASE("text shift: deterministic per (seed, type, document index), independent of call order") {
  for (const auto& info : TextShifts()) {
    INFO(info.name);
    const std::string a = Apply(info.name, 4, 5, kSample, 10);
    // Other documents first, then the same one: the same bytes.
    (void)Apply(info.name, 4, 5, "something else entirely", 11);
    CHECK(Apply(info.name, 4, 5, kSample, 10) == a);
    if (info.name == "strip-format") continue;
    CHECK(a != kSample);
    // Another index or seed draws other changes.
    CHECK(Apply(info.name, 4, 5, kSample, 12) != a);
    CHECK(Apply(info.name, 4, 6, kSample, 10) != a);
  }
}

TEST_CASE("text shift: what each type may change") {
  const auto mails = SyntheticMails(20);
  for (std::size_t d = 0; d < mails.size(); ++d) {
    const std::string& m = mails[d];
    const auto words = Words(m);
    for (int s = 1; s <= kTextShiftSeverities; ++s) {
      INFO("document " << d << " severity " << s);
      // drop-words keeps a subsequence, and severity s + 1 keeps a subsequence of s (nested).
      const auto dropped = Words(Apply("drop-words", s, 3, m, d));
      CHECK(IsSubsequence(dropped, words));
      CHECK(dropped.size() < words.size());
      if (s < kTextShiftSeverities) CHECK(IsSubsequence(Words(Apply("drop-words", s + 1, 3, m, d)), dropped));
      // insert-words keeps every word in order and adds only the document's own words.
      const auto inserted = Words(Apply("insert-words", s, 3, m, d));
      CHECK(IsSubsequence(words, inserted));
      CHECK(inserted.size() > words.size());
      for (const auto& w : inserted) CHECK(std::find(words.begin(), words.end(), w) != words.end());
      // shuffle-window permutes words, never across window borders.
      auto shuffled = Words(Apply("shuffle-window", s, 3, m, d));
      CHECK(shuffled != words);
      const std::size_t window = s == 1 ? 2 : s == 2 ? 3 : s == 3 ? 5 : s == 4 ? 8 : 13;
      for (std::size_t b = 0; b < words.size(); b += window) {
        const std::size_t e = std::min(words.size(), b + window);
        std::vector<std::string> x(words.begin() + b, words.begin() + e), y(shuffled.begin() + b, shuffled.begin() + e);
        std::sort(x.begin(), x.end());
        std::sort(y.begin(), y.end());
        CHECK(x == y);
      }
      // typos touch letters only: digits, punctuation and whitespace stay in order.
      const std::string typo = Apply("typos", s, 3, m, d);
      auto non_letters = [](const std::string& t) {
        std::string out;
        for (char c : t)
          if (!std::isalpha(static_cast<unsigned char>(c))) out += c;
        return out;
      };
      CHECK(non_letters(typo) == non_letters(m));
      CHECK(typo != m);
    }
  }
}

TEST_CASE("text shift: the fraction of tokens changed rises with severity for every type") {
  const auto mails = SyntheticMails(30);
  for (const auto& info : TextShifts()) {
    double previous = 0;
    std::string row;
    for (int s = 1; s <= kTextShiftSeverities; ++s) {
      double sum = 0;
      for (std::size_t d = 0; d < mails.size(); ++d) sum += TokensChanged(mails[d], Apply(info.name, s, 1, mails[d], d));
      const double mean = sum / static_cast<double>(mails.size());
      INFO(info.name << " severity " << s << ": " << mean << " (previous " << previous << ")");
      CHECK(mean > previous);
      previous = mean;
      row += ' ';
      row += std::to_string(mean).substr(0, 5);
    }
    MESSAGE(info.name << " tokens changed by severity:" << row);
    CHECK(previous > 0.2);  // severity 5 is a real shift
  }
}

TEST_CASE("text shift: errors name the valid types and range") {
  auto unknown = TextShiftTransform("typo", 3, 1);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("typos, drop-words, insert-words, shuffle-window, strip-format") !=
        std::string::npos);
  for (int bad : {0, 6, -1}) {
    auto r = TextShiftTransform("typos", bad, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("1 to 5") != std::string::npos);
  }
  CHECK(IsTextShift("shuffle-window"));
  CHECK_FALSE(IsTextShift("synonym"));
  auto spec = ParseTextShiftSpec("drop-words:4");
  REQUIRE(spec.ok());
  CHECK(spec->type == "drop-words");
  CHECK(spec->severity == 4);
  for (const char* bad : {"drop-words", "drop-words:", "drop-words:0", "drop-words:45", "nope:2"})
    CHECK_FALSE(ParseTextShiftSpec(bad).ok());
}

// The committed spam models on spam:test read through each shift. For the
// types that destroy information at every level (typos, drop-words,
// shuffle-window) accuracy may wobble by up to two messages (of 600) from one
// severity to the next or above the clean accuracy, no more. insert-words
// destroys nothing, and strip-format's first levels (URLs, addresses, numbers)
// remove tokens these models weigh little: measured, the GRU gains 2-3
// messages there; for those two only severity 5 must be below clean. One test
// case per model keeps each under 30 s.
void CheckCommittedModel(const std::string& arch) {
  const std::string dir = std::string(QUALM_SOURCE_DIR) + "/study/results/models-2026-11-25";
  const std::string data_dir = std::string(QUALM_SOURCE_DIR) + "/data/spam-assassin/package/data";
  if (!std::filesystem::exists(dir + "/" + arch + ".qm") || !std::filesystem::exists(data_dir + "/easy-ham-1")) {
    MESSAGE("skipped: committed models or SpamAssassin corpus not present");
    return;
  }
  frontends::SpamAssassinOptions options;
  options.data_dir = data_dir;
  auto corpus = frontends::LoadSpamAssassinCorpus(options);
  REQUIRE_MESSAGE(corpus.ok(), corpus.status().ToString());
  // The mails' text once (TransformCorpus re-reads the files on every call).
  std::vector<std::string> texts;
  for (const auto& src : corpus->test.sources) {
    auto one = frontends::TransformCorpus(frontends::TextCorpus{"one", {{}}, {0}, {src}, {"ham", "spam"}},
                                          [&](std::string_view raw) {
                                            texts.push_back(frontends::MailText(raw));
                                            return texts.back();
                                          },
                                          {});
    REQUIRE(one.ok());
  }
  constexpr double kWobble = 2.0 / 600.0 + 1e-9;
  auto model = frontends::LoadModel(dir + "/" + arch + ".qm");
  REQUIRE_MESSAGE(model.ok(), model.status().ToString());
  auto vocab = frontends::Vocabulary::FromTokens(
      nlohmann::json::parse(model->metadata.at("text.vocabulary")).get<std::vector<std::string>>());
  REQUIRE(vocab.ok());
  const int seq_len = std::stoi(model->metadata.at("text.seq_len"));
  EvalOptions eo;
  eo.threads = 2;
  auto accuracy = [&](const frontends::TextCorpus& set) {
    auto r = Evaluate(*model, frontends::EncodeCorpus(set, *vocab, seq_len, "spam:test"), eo);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return r->accuracy;
  };
  const double clean = accuracy(corpus->test);
  for (const auto& info : TextShifts()) {
    std::vector<double> acc = {clean};
    std::string row;
    for (int s = 1; s <= kTextShiftSeverities; ++s) {
      auto transform = TextShiftTransform(info.name, s, 1);
      REQUIRE(transform.ok());
      frontends::TextCorpus shifted = corpus->test;
      for (std::size_t i = 0; i < texts.size(); ++i) shifted.documents[i] = frontends::Tokenize((*transform)(texts[i], i));
      acc.push_back(accuracy(shifted));
      row += ' ';
      row += std::to_string(acc.back() * 100).substr(0, 5);
    }
    MESSAGE(arch << " " << info.name << ": clean " << clean * 100 << ", severities 1-5:" << row);
    const bool destructive = info.name == "typos" || info.name == "drop-words" || info.name == "shuffle-window";
    for (int s = 1; s <= kTextShiftSeverities && destructive; ++s) {
      INFO(arch << " " << info.name << " severity " << s);
      const auto k = static_cast<std::size_t>(s);
      CHECK(acc[k] <= acc[k - 1] + kWobble);
      CHECK(acc[k] <= clean + kWobble);
    }
    INFO(arch << " " << info.name);
    CHECK(acc.back() < clean);
  }
}

TEST_CASE("text shift: the committed LSTM loses accuracy on spam:test as severity rises") { CheckCommittedModel("lstm"); }
TEST_CASE("text shift: the committed GRU loses accuracy on spam:test as severity rises") { CheckCommittedModel("gru"); }

}  // namespace qualm::study
