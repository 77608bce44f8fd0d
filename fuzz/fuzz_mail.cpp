// libFuzzer target: mail and MIME decoding (SpamAssassin messages): headers,
// multipart, quoted-printable, base64, RFC 2047 encoded words, HTML stripping.
// Text has no lengths or checksums, so plain mutation with a dictionary of
// MIME tokens (mail.dict) reaches the structure. Run with -timeout: a
// quadratic path on a max_len input is a finding.
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "qualm/frontends/spam_assassin.h"
#include "qualm/frontends/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const std::string text = qualm::frontends::MailText(raw);
  (void)qualm::frontends::Tokenize(text);
  const std::string words = qualm::frontends::DecodeEncodedWords(raw);
  const std::string html = qualm::frontends::StripHtml(raw);
  // Decoding never grows the text (entities and encoded words shrink or keep it).
  QUALM_FUZZ_EXPECT(html.size() <= raw.size() + 1);
  (void)words;
  (void)qualm::frontends::DecodeQuotedPrintable(raw);
  QUALM_FUZZ_EXPECT(qualm::frontends::DecodeBase64(raw).size() <= raw.size());
  return 0;
}
