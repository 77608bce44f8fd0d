// libFuzzer target: the text folder's readers: a document (Tokenize, then
// EncodeTokens with a vocabulary built from it) and a vocabulary JSON file
// (LoadVocabulary). The first byte picks which; JSON keys are in text.dict.
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "qualm/frontends/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool vocabulary_file = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (vocabulary_file) {
    const std::string& path = qualm::fuzz::ScratchPath("vocab.json");
    qualm::fuzz::WriteScratch(path, data + 1, size - 1);
    auto v = qualm::frontends::LoadVocabulary(path);
    if (v.ok()) {
      QUALM_FUZZ_EXPECT(v->size() >= 2);
      for (std::size_t i = 0; i < v->size(); ++i)
        QUALM_FUZZ_EXPECT(v->Id(v->Token(static_cast<std::int32_t>(i))) == static_cast<std::int32_t>(i));
    }
    return 0;
  }
  const std::vector<std::string> tokens = qualm::frontends::Tokenize(text);
  for (const auto& t : tokens) QUALM_FUZZ_EXPECT(!t.empty());
  qualm::frontends::VocabularyOptions o;
  o.max_size = 2 + data[0] / 2 % 64;
  o.min_count = 1;
  const auto vocab = qualm::frontends::Vocabulary::Build({tokens}, o);
  QUALM_FUZZ_EXPECT(vocab.size() <= o.max_size);
  const int seq_len = 1 + data[0] / 2;
  const auto ids = qualm::frontends::EncodeTokens(vocab, tokens, seq_len);
  QUALM_FUZZ_EXPECT(ids.size() == static_cast<std::size_t>(seq_len));
  for (auto id : ids) QUALM_FUZZ_EXPECT(id >= 0 && static_cast<std::size_t>(id) < vocab.size());
  return 0;
}
