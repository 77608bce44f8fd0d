// Tokenizer rules, vocabulary construction and files, sequence encoding, and
// the generic text-folder corpus.
#include <doctest/doctest.h>

#include "frontends/data_test_util.h"
#include "qualm/frontends/text.h"

namespace {

using qualm::frontends::Tokenize;
using qualm::frontends::Vocabulary;
using qualm::testing::ScratchDir;
using qualm::testing::WriteText;
using Tokens = std::vector<std::string>;

}  // namespace

TEST_CASE("data/text: tokenizer lowercases and splits on non-alphanumerics") {
  CHECK(Tokenize("Hello, World! It's FREE--now") == Tokens{"hello", "world", "it", "s", "free", "now"});
  CHECK(Tokenize("  \t\r\n ").empty());
  CHECK(Tokenize("mp3 Win2K x_y") == Tokens{"mp3", "win2k", "x", "y"});
  // Non-ASCII bytes are separators.
  CHECK(Tokenize("caf\xc3\xa9 na\xefve") == Tokens{"caf", "na", "ve"});
  // Markup-like text splits at brackets and quotes.
  CHECK(Tokenize("<b>bold</b> \"quoted\"") == Tokens{"b", "bold", "b", "quoted"});
}

TEST_CASE("data/text: numbers and URLs and e-mail addresses become placeholder tokens") {
  CHECK(Tokenize("Save $15.95 on 1,000,000 items in 2002") ==
        Tokens{"save", "<num>", "on", "<num>", "items", "in", "<num>"});
  CHECK(Tokenize("call 555-1234.") == Tokens{"call", "<num>", "<num>"});
  CHECK(Tokenize("see http://example.com/a?b=c and WWW.Foo.org/x, ftp://h/") ==
        Tokens{"see", "<url>", "and", "<url>", "<url>"});
  CHECK(Tokenize("mail me: John.Doe+x@Example.co.uk, or (mailto:a@b.com).") ==
        Tokens{"mail", "me", "<email>", "or", "<email>"});
  // Not addresses: no dot in the domain, or two '@'.
  CHECK(Tokenize("a@b x@y@z.com") == Tokens{"a", "b", "x", "y", "z", "com"});
  // Long non-number pieces are dropped, long digit runs are still numbers.
  CHECK(Tokenize("ok aaaaaaaaaaaaaaaaaaaaaaaaa 1234567890123456789012345678") == Tokens{"ok", "<num>"});
  CHECK(Tokenize("aaaaaaaaaaaaaaaaaaaaaaaa") == Tokens{"aaaaaaaaaaaaaaaaaaaaaaaa"});  // exactly 24 kept
}

TEST_CASE("data/text: vocabulary is top-N by count with min count and ties by token and pad/unk reserved") {
  std::vector<Tokens> docs = {{"b", "a", "c", "c", "d"}, {"c", "b", "a", "e"}, {"z", "z", "y", "y", "x"}};
  // counts: c 3, a 2, b 2, y 2, z 2, d 1, e 1, x 1
  qualm::frontends::VocabularyOptions opt;
  opt.max_size = 100;
  opt.min_count = 2;
  Vocabulary v = Vocabulary::Build(docs, opt);
  CHECK(v.tokens() == Tokens{"<pad>", "<unk>", "c", "a", "b", "y", "z"});
  CHECK(v.Id("c") == 2);
  CHECK(v.Id("d") == qualm::frontends::kUnknownId);
  CHECK(v.Id("never") == 1);
  opt.max_size = 4;  // 2 reserved + 2
  CHECK(Vocabulary::Build(docs, opt).tokens() == Tokens{"<pad>", "<unk>", "c", "a"});
  opt.min_count = 1;
  opt.max_size = 100;
  CHECK(Vocabulary::Build(docs, opt).size() == 10);

  // Determinism: document order does not matter.
  std::vector<Tokens> reversed(docs.rbegin(), docs.rend());
  opt.min_count = 2;
  CHECK(Vocabulary::Build(reversed, opt).tokens() == v.tokens());
}

TEST_CASE("data/text: vocabulary save/load round trip and bad files") {
  ScratchDir dir("vocab");
  Vocabulary v = Vocabulary::Build({{"hello", "hello", "<num>", "<num>", "<num>", "x"}}, {});
  REQUIRE(qualm::frontends::SaveVocabulary(v, dir / "v.json").ok());
  auto loaded = qualm::frontends::LoadVocabulary(dir / "v.json");
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CHECK(loaded->tokens() == v.tokens());
  CHECK(loaded->Id("hello") == v.Id("hello"));

  WriteText(dir / "bad.json", "{not json");
  auto bad = qualm::frontends::LoadVocabulary(dir / "bad.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("bad.json") != std::string::npos);
  WriteText(dir / "dup.json", R"({"format":"qualm-vocabulary","version":1,"tokens":["<pad>","<unk>","a","a"]})");
  bad = qualm::frontends::LoadVocabulary(dir / "dup.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("twice") != std::string::npos);
  WriteText(dir / "other.json", R"({"tokens":["<pad>","<unk>"]})");
  CHECK_FALSE(qualm::frontends::LoadVocabulary(dir / "other.json").ok());
  CHECK_FALSE(qualm::frontends::LoadVocabulary(dir / "missing.json").ok());
}

TEST_CASE("data/text: sequences keep the first tokens and are pre-padded") {
  Vocabulary v = *Vocabulary::FromTokens({"<pad>", "<unk>", "a", "b", "c"});
  using Ids = std::vector<std::int32_t>;
  CHECK(qualm::frontends::EncodeTokens(v, {"a", "b", "zz"}, 5) == Ids{0, 0, 2, 3, 1});
  CHECK(qualm::frontends::EncodeTokens(v, {"a", "b", "c", "a", "b", "c"}, 4) == Ids{2, 3, 4, 2});
  CHECK(qualm::frontends::EncodeTokens(v, {}, 3) == Ids{0, 0, 0});
  CHECK(qualm::frontends::EncodeTokens(v, {"c", "c", "c"}, 3) == Ids{4, 4, 4});

  qualm::frontends::TextCorpus corpus;
  corpus.documents = {{"a"}, {"b", "c"}};
  corpus.labels = {0, 1};
  corpus.class_names = {"x", "y"};
  auto ds = qualm::frontends::EncodeCorpus(corpus, v, 3, "t");
  CHECK(ds.sample_type == qualm::SampleType::kInt32);
  CHECK(ds.sample_shape == std::vector<int>{3});
  CHECK(ds.i32 == Ids{0, 0, 2, 0, 3, 4});
  CHECK(ds.num_classes == 2);
}

TEST_CASE("data/text: text folder corpus with one subfolder per class") {
  ScratchDir dir("textdir");
  WriteText(dir / "corpus/spam/1.txt", "WIN money NOW");
  WriteText(dir / "corpus/spam/2.TXT", "free money");
  WriteText(dir / "corpus/spam/notes.md", "ignored");
  WriteText(dir / "corpus/ham/a.txt", "meeting at 10");
  WriteText(dir / "corpus/.hidden/a.txt", "ignored");
  auto c = qualm::frontends::LoadTextFolder(dir / "corpus");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->class_names == Tokens{"ham", "spam"});
  CHECK(c->labels == std::vector<std::int32_t>{0, 1, 1});
  CHECK(c->documents[0] == Tokens{"meeting", "at", "<num>"});
  CHECK(c->documents[2] == Tokens{"free", "money"});

  WriteText(dir / "corpus/empty/readme.md", "no txt here");
  auto bad = qualm::frontends::LoadTextFolder(dir / "corpus");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("empty") != std::string::npos);
  CHECK_FALSE(qualm::frontends::LoadTextFolder(dir / "nowhere").ok());
  std::filesystem::create_directories(dir.path() / "flat");
  CHECK_FALSE(qualm::frontends::LoadTextFolder(dir / "flat").ok());
}
