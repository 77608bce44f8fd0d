// Helpers shared by the model-file tests: zoo models, a tiny hand-made model,
// bit-exact model comparison written independently of the library's own
// serializer, and a container builder that follows the documented layout (so
// the tests can craft files the library would never write).
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "qualm/engine/model.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/model_file.h"

namespace qualm::testing {

inline bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

inline ZooOptions ZooOptionsFor(const std::string& arch) {
  ZooOptions o;
  if (IsTextArchitecture(arch)) {
    o.input_shape = {200};
    o.num_classes = 2;
    o.vocab = 500;
  } else {
    o.input_shape = {28, 28, 1};
    o.num_classes = 10;
  }
  return o;
}

inline Model ZooModel(const std::string& arch, std::uint64_t seed = 7) {
  auto m = BuildZooModel(arch, ZooOptionsFor(arch));
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  return std::move(m).value();
}

// input {4} -> batch_norm -> dense 2: small enough to serialize thousands of times.
inline Model TinyModel() {
  Model m;
  m.arch = "tiny";
  m.input_shape = {4};
  m.num_classes = 2;
  m.AddNode("input", InputOp{}, {});
  m.AddNode("bn", BatchNormOp{}, {0});
  m.AddNode("fc", DenseOp{2, true}, {1});
  auto shapes = InferShapes(m);
  REQUIRE_MESSAGE(shapes.ok(), shapes.status().ToString());
  REQUIRE(InitializeParameters(m, 3).ok());
  return m;
}

// Op fields as (name, bit pattern) pairs, through VisitFields: floats compared
// by bits, so NaN payloads and -0 count.
inline std::vector<std::pair<std::string, std::uint64_t>> FieldBits(const OpParams& op) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  std::visit(
      [&](auto o) {
        o.VisitFields([&](const char* name, auto& v) {
          std::uint64_t bits = 0;
          std::memcpy(&bits, &v, sizeof v);
          out.emplace_back(name, bits);
        });
      },
      op);
  return out;
}

inline bool TensorsIdentical(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
  if ((a.raw() == nullptr) != (b.raw() == nullptr)) return false;
  return a.raw() == nullptr || std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

// Every field, every parameter bit. CHECKs so a failure names the difference.
inline void CheckModelsIdentical(const Model& a, const Model& b) {
  CHECK(a.arch == b.arch);
  CHECK(a.input_type == b.input_type);
  CHECK(a.input_shape == b.input_shape);
  CHECK(a.num_classes == b.num_classes);
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    INFO("node " << i << " '" << x.name << "'");
    CHECK(x.name == y.name);
    CHECK(x.op.index() == y.op.index());
    CHECK(FieldBits(x.op) == FieldBits(y.op));
    CHECK(x.inputs == y.inputs);
    REQUIRE(x.params.size() == y.params.size());
    for (std::size_t k = 0; k < x.params.size(); ++k) {
      INFO("param '" << x.params[k].name << "'");
      CHECK(x.params[k].name == y.params[k].name);
      CHECK(x.params[k].trainable == y.params[k].trainable);
      CHECK(TensorsIdentical(x.params[k].value, y.params[k].value));
    }
  }
}

// ---- the documented container layout, written independently ---------------

inline std::uint64_t GetLe(const std::vector<std::uint8_t>& b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b[at + static_cast<std::size_t>(i)];
  return v;
}

inline void PutLe(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

inline std::uint32_t Crc(const std::uint8_t* p, std::size_t n) {
  return static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

// Rewrites the trailing CRC after a deliberate edit.
inline void FixCrc(std::vector<std::uint8_t>& b) { PutLe(b, b.size() - 4, Crc(b.data(), b.size() - 4), 4); }

struct Parts {
  std::uint32_t version = 0, flags = 0;
  nlohmann::json header;
  std::vector<std::uint8_t> data;  // the data section
};

inline std::uint64_t Align64(std::uint64_t x) { return (x + 63) / 64 * 64; }

inline Parts SplitFile(const std::vector<std::uint8_t>& b) {
  Parts p;
  p.version = static_cast<std::uint32_t>(GetLe(b, 8, 4));
  p.flags = static_cast<std::uint32_t>(GetLe(b, 12, 4));
  const std::uint64_t hlen = GetLe(b, 24, 8);
  p.header = nlohmann::json::parse(b.begin() + 32, b.begin() + 32 + static_cast<std::ptrdiff_t>(hlen));
  const std::uint64_t start = Align64(32 + hlen);
  p.data.assign(b.begin() + static_cast<std::ptrdiff_t>(start), b.end() - 4);
  return p;
}

inline std::vector<std::uint8_t> JoinFile(const Parts& p) {
  const std::string text = p.header.dump();
  const std::uint64_t start = Align64(32 + text.size());
  std::vector<std::uint8_t> b(start + p.data.size() + 4, 0);
  std::memcpy(b.data(), "QUALMMDL", 8);
  PutLe(b, 8, p.version, 4);
  PutLe(b, 12, p.flags, 4);
  PutLe(b, 16, b.size(), 8);
  PutLe(b, 24, text.size(), 8);
  std::memcpy(&b[32], text.data(), text.size());
  if (!p.data.empty()) std::memcpy(&b[start], p.data.data(), p.data.size());
  FixCrc(b);
  return b;
}

}  // namespace qualm::testing
