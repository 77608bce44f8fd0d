// tests/onnx/onnx_io_fuzz_seeds_test.cpp: the fuzz_onnx seed corpus
// (fuzz/corpus/onnx) holds models that import, so the fuzzer starts from the
// importer's deep paths (conv, QDQ, LSTM / GRU) rather than from its first
// error. The seeds are written by the tests that build those graphs
// (WriteFuzzSeed); inputs from fuzzer findings are named regression-* and
// must be refused with the error that replaced the crash.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "onnx_io_test_util.h"
#include "qualm/frontends/model_file.h"
#include "qualm/frontends/onnx.h"

namespace fe = qualm::frontends;

TEST_CASE("onnx import: every fuzz seed imports, saves as a qualm model and exports again") {
  const std::filesystem::path dir = std::filesystem::path(QUALM_SOURCE_DIR) / "fuzz/corpus/onnx";
  int seeds = 0, regressions = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    INFO(name);
    std::ifstream f(e.path(), std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    auto m = fe::ImportOnnxBytes(s.str(), name);
    if (name.rfind("regression-", 0) == 0) {
      ++regressions;
      // fuzz_onnx findings (signed overflow or an out-of-range index before the fix): each is now an error naming the limit.
      const std::map<std::string, std::string> expect = {
          {"regression-input-dim-int64-max.onnx", "graph input 'x': [3, 9223372036854775807, 7] has more than"},
          {"regression-hidden-size-int64-max.onnx", "(LSTM): hidden_size 9223372036854775807: weights"},
          {"regression-zero-point-int32-min.onnx", "value -2147483648 is outside the element type's range [0, 255]"},
          // This one read dims[0] of an empty vector (a Squeeze to [N], then BatchNormalization).
          {"regression-squeeze-then-batchnorm.onnx", "squeezing every dimension after the batch is not supported"}};
      REQUIRE_FALSE(m.ok());
      CHECK(m.status().message().find(name) != std::string::npos);
      if (auto it = expect.find(name); it != expect.end())
        CHECK_MESSAGE(m.status().message().find(it->second) != std::string::npos, m.status().message());
      continue;
    }
    ++seeds;
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    const auto file = fe::SerializeModel(*m);
    CHECK(fe::ParseModel(file.data(), file.size(), "seed.qm").ok());
    auto again = fe::ExportOnnxBytes(*m);
    REQUIRE_MESSAGE(again.ok(), again.status().message());
    CHECK(fe::ImportOnnxBytes(*again, "again.onnx").ok());
  }
  MESSAGE("fuzz/corpus/onnx: " << seeds << " seeds, " << regressions << " regression inputs");
  CHECK(seeds >= 8);
}
