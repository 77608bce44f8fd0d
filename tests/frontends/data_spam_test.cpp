// RFC 822 / MIME extraction on hand-written messages, and the SpamAssassin
// loader on a miniature corpus laid out like the real one.
#include <doctest/doctest.h>

#include "frontends/data_test_util.h"
#include "qualm/frontends/spam_assassin.h"

namespace {

using qualm::frontends::ParseMail;
using qualm::testing::ScratchDir;
using qualm::testing::WriteText;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("data/spam: headers are dropped except a folded and decoded Subject") {
  const std::string raw =
      "From someone@example.com  Mon Jun 24 17:03:24 2002\n"
      "Received: from relay.example.com\n"
      "    by mx.example.org; Mon, 24 Jun 2002\n"
      "Subject: A long subject\n"
      "\tcontinued here\n"
      "X-Mailer: SpamCannon 9000\n"
      "\n"
      "Body line one.\n"
      "Subject: not a header any more\n";
  auto m = ParseMail(raw);
  CHECK(m.subject == "A long subject continued here");
  CHECK(Has(m.body, "Body line one."));
  CHECK(Has(m.body, "not a header any more"));
  CHECK_FALSE(Has(m.body, "SpamCannon"));
  CHECK_FALSE(Has(m.body, "relay"));
  CHECK(qualm::frontends::MailText(raw).rfind("A long subject continued here\n", 0) == 0);

  // CRLF line ends, RFC 2047 subject.
  auto m2 = ParseMail("Subject: =?iso-8859-1?Q?Caf=E9_time?= =?utf-8?B?Zm9v?=\r\nTo: x\r\n\r\nhi\r\n");
  CHECK(m2.subject == "Caf\xe9 timefoo");
  CHECK(m2.body == "hi\r\n");
}

TEST_CASE("data/spam: quoted-printable and base64 transfer encodings") {
  CHECK(qualm::frontends::DecodeQuotedPrintable("a=3Db soft=\nbreak =\r\nx=4") == "a=b softbreak x=4");
  CHECK(qualm::frontends::DecodeBase64("aGVs\nbG8g d29y bGQ=") == "hello world");
  CHECK(qualm::frontends::DecodeBase64("YQ==") == "a");

  auto qp = ParseMail(
      "Subject: qp\nContent-Type: text/plain\nContent-Transfer-Encoding: Quoted-Printable\n\n"
      "Special =3D offer, click=\n here\n");
  CHECK(Has(qp.body, "Special = offer, click here"));
  auto b64 = ParseMail(
      "Subject: b64\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "VGhpcyBpcyBiYXNlNjQgdGV4dA==\n");
  CHECK(b64.body == "This is base64 text");
}

TEST_CASE("data/spam: HTML is stripped of tags and comments and script and style and entities") {
  const std::string html =
      "<html><head><style type=\"text/css\">p { color: red }</style>"
      "<script>var hidden = 1;</script></head>"
      "<body><!-- secret comment --><p class=\"a>b\">Buy&nbsp;now &amp; save&#33; &lt;50%&gt; &#x41;</p>"
      "<a href=\"http://x.example/\">Click</a> 3 < 4</body></html>";
  const std::string text = qualm::frontends::StripHtml(html);
  CHECK(Has(text, "Buy now & save! <50%> A"));
  CHECK(Has(text, "Click"));
  CHECK(Has(text, "3 < 4"));
  CHECK_FALSE(Has(text, "color"));
  CHECK_FALSE(Has(text, "hidden"));
  CHECK_FALSE(Has(text, "secret"));
  CHECK_FALSE(Has(text, "href"));

  auto m = ParseMail("Subject: h\nContent-Type: text/html\n\n" + html);
  CHECK(Has(m.body, "Buy now"));
  CHECK_FALSE(Has(m.body, "<p"));
  // Untyped body that is HTML anyway.
  auto m2 = ParseMail("Subject: h\n\n<HTML><BODY>Hi <B>there</B></BODY></HTML>\n");
  CHECK_FALSE(Has(m2.body, "<"));
  CHECK(Has(m2.body, "Hi"));
}

TEST_CASE("data/spam: MIME multipart walks parts and prefers text/plain alternatives") {
  const std::string raw =
      "Subject: multi\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed;\n"
      "\tboundary=\"OUTER\"\n"
      "\n"
      "This is a multi-part message in MIME format.\n"
      "--OUTER\n"
      "Content-Type: multipart/alternative; boundary=INNER\n"
      "\n"
      "--INNER\n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "Plain version =3D good\n"
      "--INNER\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>HTML version</p>\n"
      "--INNER--\n"
      "--OUTER\n"
      "Content-Type: image/gif; name=\"x.gif\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "R0lGODlhAQABAAAAACw=\n"
      "--OUTER\n"
      "Content-Type: text/plain\n"
      "Content-Disposition: attachment; filename=\"notes.txt\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "QXR0YWNoZWQgbm90ZXM=\n"
      "--OUTER--\n"
      "epilogue\n";
  auto m = ParseMail(raw);
  CHECK(m.subject == "multi");
  CHECK(Has(m.body, "Plain version = good"));
  CHECK_FALSE(Has(m.body, "HTML version"));
  CHECK_FALSE(Has(m.body, "GIF"));
  CHECK_FALSE(Has(m.body, "R0lG"));
  CHECK(Has(m.body, "Attached notes"));
  CHECK_FALSE(Has(m.body, "multi-part message"));
  CHECK_FALSE(Has(m.body, "epilogue"));

  // Alternative with only HTML: the HTML, stripped.
  auto h = ParseMail(
      "Subject: x\nContent-Type: multipart/alternative; boundary=\"b\"\n\n--b\nContent-Type: text/html\n"
      "Content-Transfer-Encoding: base64\n\nPGI+QmFzZTY0IEhUTUw8L2I+\n--b--\n");
  CHECK(Has(h.body, "Base64 HTML"));
  CHECK_FALSE(Has(h.body, "<b>"));

  // Forwarded message/rfc822 part contributes its subject and body.
  auto f = ParseMail(
      "Subject: fwd\nContent-Type: multipart/mixed; boundary=z\n\n--z\n\nsee below\n--z\n"
      "Content-Type: message/rfc822\n\nSubject: inner subject\nFrom: a@b.c\n\ninner body\n--z--\n");
  CHECK(Has(f.body, "see below"));
  CHECK(Has(f.body, "inner subject"));
  CHECK(Has(f.body, "inner body"));
  CHECK_FALSE(Has(f.body, "a@b.c"));

  // Malformed: multipart without its delimiter reads as text; never crashes.
  auto bad = ParseMail("Subject: x\nContent-Type: multipart/mixed; boundary=nope\n\njust text\n");
  CHECK(Has(bad.body, "just text"));
  CHECK(ParseMail("").subject.empty());
  CHECK(ParseMail("no headers at all\n").body == "no headers at all\n");
}

TEST_CASE("data/spam: miniature corpus - splits and train-only vocabulary and shifted sets") {
  ScratchDir dir("spam");
  const std::string root = dir / "data";
  auto write_group = [&](const std::string& group, int n, const std::string& word) {
    for (int i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "%05d.abc.txt", i + 1);
      WriteText(root + "/" + group + "/" + name,
                "Subject: " + word + " " + std::to_string(i) + "\nX-Spam: yes\n\n" + word + " common text body\n");
      WriteText(root + "/" + group + "/" + std::string(name).replace(10, 3, "json"), "{}");
    }
  };
  write_group("easy-ham-1", 50, "meeting");
  write_group("spam-1", 10, "viagra");
  write_group("hard-ham-1", 5, "newsletter");
  write_group("easy-ham-2", 7, "lunch");
  write_group("spam-2", 3, "casino");

  qualm::frontends::SpamAssassinOptions opt;
  opt.data_dir = root;
  opt.seq_len = 8;
  auto sets = qualm::frontends::LoadSpamAssassin(opt);
  REQUIRE_MESSAGE(sets.ok(), sets.status().ToString());
  // 50 ham -> 35/5/10, 10 spam -> 7/1/2.
  CHECK(sets->train.size() == 42);
  CHECK(sets->validation.size() == 6);
  CHECK(sets->test.size() == 12);
  CHECK(sets->hard_ham.size() == 5);
  CHECK(sets->later.size() == 10);
  CHECK(sets->train.class_names == std::vector<std::string>{"ham", "spam"});
  CHECK(sets->train.num_classes == 2);
  CHECK(sets->train.sample_shape == std::vector<int>{8});
  CHECK(sets->later.labels == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1});
  int spam_in_train = 0;
  for (auto l : sets->train.labels) spam_in_train += l;
  CHECK(spam_in_train == 7);

  // Vocabulary from train only: words of the shifted groups are unknown; no header leaks.
  const auto& v = sets->vocabulary;
  CHECK(v.Id("meeting") > 1);
  CHECK(v.Id("viagra") > 1);
  CHECK(v.Id("common") > 1);
  CHECK(v.Id("casino") == 1);
  CHECK(v.Id("lunch") == 1);
  CHECK(v.Id("newsletter") == 1);
  CHECK(v.Id("spam") == 1);  // from the X-Spam header, which is dropped
  // "newsletter <num> newsletter common text body" = 6 tokens, pre-padded to 8.
  const std::vector<std::int32_t> first(sets->hard_ham.i32.begin(), sets->hard_ham.i32.begin() + 8);
  CHECK(first == std::vector<std::int32_t>{0, 0, 1, v.Id("<num>"), 1, v.Id("common"), v.Id("text"), v.Id("body")});

  // Deterministic: same seed, same splits and vocabulary; another seed, another split.
  auto again = qualm::frontends::LoadSpamAssassin(opt);
  REQUIRE(again.ok());
  CHECK(again->vocabulary.tokens() == v.tokens());
  CHECK(again->test.i32 == sets->test.i32);
  opt.split_seed += 100;
  auto other = qualm::frontends::LoadSpamAssassin(opt);
  REQUIRE(other.ok());
  CHECK(other->test.size() == 12);

  // A given vocabulary is used as is.
  auto fixed = *qualm::frontends::Vocabulary::FromTokens({"<pad>", "<unk>", "casino"});
  auto with_fixed = qualm::frontends::LoadSpamAssassin(opt, &fixed);
  REQUIRE(with_fixed.ok());
  CHECK(with_fixed->vocabulary.size() == 3);
  CHECK(with_fixed->later.i32.back() == 1);

  // Missing corpus and missing group.
  opt.data_dir = dir / "nowhere";
  auto missing = qualm::frontends::LoadSpamAssassin(opt);
  REQUIRE_FALSE(missing.ok());
  CHECK(Has(missing.status().message(), "SpamAssassin corpus not found; run scripts/setup.sh"));
  std::filesystem::remove_all(root + "/spam-2");
  opt.data_dir = root;
  missing = qualm::frontends::LoadSpamAssassin(opt);
  REQUIRE_FALSE(missing.ok());
  CHECK(Has(missing.status().message(), "spam-2"));
}
