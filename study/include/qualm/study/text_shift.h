// qualm/study/text_shift.h: seeded synthetic perturbations of mail text, the
// text half of the study's synthetic shifts (the image half is the
// Fashion-MNIST-C corruptions).
//
// A shift is a (type, severity 1..5, seed) triple that becomes a per-document
// transform of the text a model reads (Subject + "\n" + body, before
// tokenization); frontends apply it through DataSpecOptions::text_transform,
// so every evaluation set can be read shifted while the vocabulary stays the
// model's.
//
// Types (what changes at severity 1 .. 5):
//   typos          each ASCII letter, with probability 2 / 4 / 7 / 10 / 15 %, gets
//                  one keyboard typo: swapped with the next letter, dropped,
//                  doubled by a neighbouring key typed after it, or replaced by
//                  a neighbouring key (QWERTY; case kept). About 9 / 17 / 28 /
//                  38 / 52 % of words are hit.
//   drop-words     each word (whitespace-separated run) is deleted with
//                  probability 5 / 10 / 20 / 30 / 50 %.
//   insert-words   after each word, with probability 5 / 10 / 20 / 30 / 50 %, a
//                  copy of a word drawn from the same document is inserted (no
//                  outside word list: the shift adds no vocabulary).
//   shuffle-window word order shuffled inside consecutive windows of 2 / 3 / 5 /
//                  8 / 13 words (whitespace stays where it was).
//   strip-format   what re-sending a mail as bare plain text loses. Our
//                  pipeline already keeps only Subject + body with HTML
//                  stripped, and the tokenizer lowercases and splits at
//                  punctuation, so lowercasing or turning punctuation into
//                  spaces would change nothing a model sees. Cumulative levels:
//                  1 URLs and e-mail addresses removed (words the tokenizer
//                  reads as <url> / <email>); 2 also numbers (digit runs the
//                  tokenizer reads as <num>, not those inside words like
//                  "mp3"); 3 also quoted reply lines (first non-blank byte
//                  '>'); 4 also the subject line; 5 also every punctuation
//                  byte deleted, which joins words ("don't" -> "dont",
//                  "e-mail" -> "email"). Deterministic: the seed is not used.
//
// Determinism: the random draws come from the project's Rng (never std::
// distributions) seeded per document from (seed, type, document index) with a
// SplitMix64-style mix, and use only integer arithmetic and exact float
// comparisons, so the bytes are the same on every machine and do not depend on
// the order documents are processed in. Severity is deliberately NOT part of
// the stream: every unit (letter, word) draws the same numbers at every
// severity and the severity only sets the threshold, so for typos, drop-words
// and insert-words the changes at severity s are a subset of those at s + 1
// (nested severities: disagreement growth with severity is then not blurred by
// re-drawn noise). shuffle-window re-draws per window size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

struct TextShiftInfo {
  std::string name, description;
};
// Every type, in the order above.
const std::vector<TextShiftInfo>& TextShifts();
bool IsTextShift(const std::string& name);

inline constexpr int kTextShiftSeverities = 5;

// The per-document transform for (type, severity 1..5, seed); errors name the
// valid types / range.
Result<std::function<std::string(std::string_view, std::size_t)>> TextShiftTransform(const std::string& type,
                                                                                      int severity,
                                                                                      std::uint64_t seed);

// "typos:3" -> ("typos", 3); errors name the valid types and range.
struct TextShiftSpec {
  std::string type;
  int severity = 0;
};
Result<TextShiftSpec> ParseTextShiftSpec(const std::string& spec);

}  // namespace qualm::study
