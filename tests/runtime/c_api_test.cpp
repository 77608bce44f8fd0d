// The C API (qualm.h) through the shared runtime library only: every zoo
// model's logits equal the full engine's bit for bit (fixtures written by
// qualm_runtime_models), from a path and from a memory buffer, at batch sizes
// 1..4; and bad input of every kind is a status with a message, never a crash.
// The fixture folder is $QUALM_RUNTIME_MODELS.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "qualm.h"

namespace {

std::string Dir() {
  const char* d = std::getenv("QUALM_RUNTIME_MODELS");
  REQUIRE_MESSAGE(d != nullptr, "QUALM_RUNTIME_MODELS must name the fixture folder");
  return d;
}

std::vector<unsigned char> Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

const char* const kArchs[] = {"lenet1", "lenet5", "resnet20", "nin", "lstm", "gru"};

struct Opened {
  qualm_model* m = nullptr;
  ~Opened() { qualm_close(m); }
};

TEST_CASE("runtime C API: every zoo model gives the engine's logits bit for bit (path and memory, batch 1..4)") {
  for (const std::string arch : kArchs) {
    INFO(arch);
    const std::string base = Dir() + "/" + arch;
    const auto input = Slurp(base + ".input.bin");
    const auto expected_bytes = Slurp(base + ".expected.bin");
    std::vector<float> expected(expected_bytes.size() / 4);
    std::memcpy(expected.data(), expected_bytes.data(), expected_bytes.size());
    const auto file = Slurp(base + ".int8.qm");
    for (int from_memory = 0; from_memory < 2; ++from_memory) {
      Opened o;
      const qualm_status s = from_memory ? qualm_open_memory(file.data(), file.size(), 4, &o.m)
                                         : qualm_open_file((base + ".int8.qm").c_str(), 4, &o.m);
      REQUIRE_MESSAGE(s == QUALM_OK, qualm_last_error());
      REQUIRE(o.m != nullptr);
      CHECK(qualm_input_count(o.m) == 1);
      CHECK(qualm_output_count(o.m) == 1);
      qualm_tensor_info in{}, out{};
      REQUIRE(qualm_input_info(o.m, 0, &in) == QUALM_OK);
      REQUIRE(qualm_output_info(o.m, 0, &out) == QUALM_OK);
      const bool text = arch == "lstm" || arch == "gru";
      CHECK(in.dtype == (text ? QUALM_INT32 : QUALM_FLOAT32));
      CHECK(in.dims[0] == 4);
      CHECK(in.rank == (text ? 2 : 4));
      CHECK(in.quantized == (text ? 0 : 1));
      if (!text) CHECK(in.scale > 0.0f);
      CHECK(out.dtype == QUALM_FLOAT32);
      CHECK(out.rank == 2);
      const int classes = static_cast<int>(out.dims[1]);
      CHECK(classes == (text ? 2 : 10));
      CHECK(out.quantized == 1);
      const std::size_t sample = input.size() / 4;
      for (int n = 1; n <= 4; ++n) {
        INFO("batch ", n, " from memory ", from_memory);
        REQUIRE(qualm_set_input(o.m, 0, input.data(), sample * static_cast<std::size_t>(n)) == QUALM_OK);
        REQUIRE(qualm_run(o.m) == QUALM_OK);
        REQUIRE(qualm_output_bytes(o.m, 0) == static_cast<std::size_t>(n * classes) * 4);
        std::vector<float> logits(static_cast<std::size_t>(n * classes), std::nanf(""));
        REQUIRE(qualm_get_output(o.m, 0, logits.data(), logits.size() * 4) == QUALM_OK);
        CHECK(std::memcmp(logits.data(), expected.data(), logits.size() * 4) == 0);
      }
      // Not a degenerate output: the logits differ within a sample.
      bool varies = false;
      for (int c = 1; c < classes; ++c) varies |= expected[static_cast<std::size_t>(c)] != expected[0];
      CHECK(varies);
    }
  }
}

TEST_CASE("runtime C API: null pointers, bad sizes and indices, bad values are errors with messages") {
  const std::string path = Dir() + "/lenet5.int8.qm";
  qualm_model* m = reinterpret_cast<qualm_model*>(0x1);
  CHECK(qualm_open_file(nullptr, 1, &m) == QUALM_INVALID_ARGUMENT);
  CHECK(m == nullptr);
  CHECK(std::string(qualm_last_error()).find("path is NULL") != std::string::npos);
  CHECK(qualm_open_file(path.c_str(), 1, nullptr) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_open_file(path.c_str(), 0, &m) == QUALM_INVALID_ARGUMENT);
  CHECK(std::string(qualm_last_error()).find("max_batch") != std::string::npos);
  CHECK(qualm_open_memory(nullptr, 10, 1, &m) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_open_file((Dir() + "/no-such-model.qm").c_str(), 1, &m) == QUALM_NOT_FOUND);
  CHECK(std::string(qualm_last_error()).find("no-such-model.qm") != std::string::npos);
  CHECK(m == nullptr);
  qualm_close(nullptr);

  Opened o;
  REQUIRE(qualm_open_file(path.c_str(), 3, &o.m) == QUALM_OK);
  CHECK(qualm_last_error()[0] == '\0');
  qualm_tensor_info info{};
  CHECK(qualm_input_info(o.m, 1, &info) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_input_info(o.m, -1, &info) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_output_info(o.m, 0, nullptr) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_input_info(nullptr, 0, &info) == QUALM_INVALID_ARGUMENT);
  // Run and read before any input.
  CHECK(qualm_run(o.m) == QUALM_FAILED_PRECONDITION);
  CHECK(qualm_output_bytes(o.m, 0) == 0);
  float sink[40];
  CHECK(qualm_get_output(o.m, 0, sink, sizeof sink) == QUALM_FAILED_PRECONDITION);
  std::vector<float> x(28 * 28 * 4, 0.5f);
  const std::size_t one = 28 * 28 * 4;
  CHECK(qualm_set_input(o.m, 0, nullptr, one) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(nullptr, 0, x.data(), one) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(o.m, 1, x.data(), one) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(o.m, 0, x.data(), 0) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(o.m, 0, x.data(), one - 4) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(o.m, 0, x.data(), one + 1) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_set_input(o.m, 0, x.data(), 4 * one) == QUALM_INVALID_ARGUMENT);  // max_batch 3
  CHECK(std::string(qualm_last_error()).find("at most 3 samples") != std::string::npos);
  x[100] = std::numeric_limits<float>::infinity();
  CHECK(qualm_set_input(o.m, 0, x.data(), one) == QUALM_INVALID_ARGUMENT);
  CHECK(std::string(qualm_last_error()).find("element 100") != std::string::npos);
  CHECK(qualm_run(o.m) == QUALM_FAILED_PRECONDITION);  // the failed set_input left nothing to run
  x[100] = 0.25f;
  REQUIRE(qualm_set_input(o.m, 0, x.data(), 2 * one) == QUALM_OK);
  REQUIRE(qualm_run(o.m) == QUALM_OK);
  CHECK(qualm_get_output(o.m, 0, sink, 19 * 4) == QUALM_INVALID_ARGUMENT);  // 20 floats needed
  CHECK(qualm_get_output(o.m, 1, sink, sizeof sink) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_get_output(o.m, 0, nullptr, sizeof sink) == QUALM_INVALID_ARGUMENT);
  CHECK(qualm_get_output(o.m, 0, sink, sizeof sink) == QUALM_OK);
  CHECK(qualm_status_string(QUALM_DATA_LOSS) == std::string("data loss"));
  CHECK(std::string(qualm_version()) == "0.1.0");

  // Token ids outside the vocabulary.
  Opened t;
  REQUIRE(qualm_open_file((Dir() + "/lstm.int8.qm").c_str(), 1, &t.m) == QUALM_OK);
  std::vector<std::int32_t> ids(200, 5);
  ids[7] = 20000;
  CHECK(qualm_set_input(t.m, 0, ids.data(), ids.size() * 4) == QUALM_INVALID_ARGUMENT);
  CHECK(std::string(qualm_last_error()).find("token id 20000 at element 7") != std::string::npos);
  ids[7] = -1;
  CHECK(qualm_set_input(t.m, 0, ids.data(), ids.size() * 4) == QUALM_INVALID_ARGUMENT);
  ids[7] = 19999;
  CHECK(qualm_set_input(t.m, 0, ids.data(), ids.size() * 4) == QUALM_OK);
  CHECK(qualm_run(t.m) == QUALM_OK);
}

TEST_CASE("runtime C API: corrupt, truncated and non-int8 model data are declined") {
  const auto good = Slurp(Dir() + "/lenet5.int8.qm");
  qualm_model* m = nullptr;
  REQUIRE(qualm_open_memory(good.data(), good.size(), 1, &m) == QUALM_OK);
  qualm_close(m);
  m = nullptr;
  CHECK(qualm_open_memory(good.data(), 0, 1, &m) != QUALM_OK);
  CHECK(m == nullptr);
  for (std::size_t cut : {std::size_t{1}, std::size_t{7}, std::size_t{31}, good.size() / 2, good.size() - 1}) {
    INFO("truncated to ", cut);
    CHECK(qualm_open_memory(good.data(), cut, 1, &m) != QUALM_OK);
    CHECK(m == nullptr);
    CHECK(qualm_last_error()[0] != '\0');
  }
  // One flipped bit anywhere: header, data, CRC.
  for (std::size_t at : {std::size_t{0}, std::size_t{12}, std::size_t{40}, good.size() / 2, good.size() - 2}) {
    INFO("bit flipped at ", at);
    auto bad = good;
    bad[at] ^= 0x10;
    CHECK(qualm_open_memory(bad.data(), bad.size(), 1, &m) != QUALM_OK);
    CHECK(m == nullptr);
  }
  // Garbage of the right length.
  std::vector<unsigned char> noise(good.size());
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<unsigned char>(i * 131 + 7);
  CHECK(qualm_open_memory(noise.data(), noise.size(), 1, &m) != QUALM_OK);
  CHECK(std::string(qualm_last_error()).find("<memory buffer>") != std::string::npos);
  CHECK(m == nullptr);
  // Float and dynamic models: declined with a message that says what to do.
  for (const char* name : {"lenet5.float.qm", "lenet5.dynamic.qm"}) {
    INFO(name);
    CHECK(qualm_open_file((Dir() + "/" + name).c_str(), 1, &m) == QUALM_UNIMPLEMENTED);
    CHECK(std::string(qualm_last_error()).find("qualm quantize --scheme int8") != std::string::npos);
    CHECK(m == nullptr);
  }
}

TEST_CASE("runtime C API: two handles on one model run independently") {
  const std::string path = Dir() + "/resnet20.int8.qm";
  const auto input = Slurp(Dir() + "/resnet20.input.bin");
  Opened a, b;
  REQUIRE(qualm_open_file(path.c_str(), 2, &a.m) == QUALM_OK);
  REQUIRE(qualm_open_file(path.c_str(), 1, &b.m) == QUALM_OK);
  const std::size_t sample = input.size() / 4;
  REQUIRE(qualm_set_input(a.m, 0, input.data(), 2 * sample) == QUALM_OK);
  REQUIRE(qualm_set_input(b.m, 0, input.data() + sample, sample) == QUALM_OK);
  REQUIRE(qualm_run(b.m) == QUALM_OK);
  REQUIRE(qualm_run(a.m) == QUALM_OK);
  float la[20], lb[10];
  REQUIRE(qualm_get_output(a.m, 0, la, sizeof la) == QUALM_OK);
  REQUIRE(qualm_get_output(b.m, 0, lb, sizeof lb) == QUALM_OK);
  CHECK(std::memcmp(la + 10, lb, sizeof lb) == 0);
}

}  // namespace
