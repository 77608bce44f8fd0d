// Helpers shared by the model-file tests: zoo models, a tiny hand-made model,
// bit-exact model comparison written independently of the library's own
// serializer, and a container builder that follows the documented layout (so
// the tests can craft files the library would never write).
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
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

// The quantization record: scheme, mode, info, and per node the output
// parameters (scale by bits, when has_output), the cell exponent and every
// constant bit.
inline void CheckQuantIdentical(const Model& a, const Model& b) {
  CHECK(a.quant.scheme == b.quant.scheme);
  CHECK(a.quant.mode == b.quant.mode);
  CHECK(a.quant.info == b.quant.info);
  REQUIRE(a.quant.nodes.size() == b.quant.nodes.size());
  for (std::size_t i = 0; i < a.quant.nodes.size(); ++i) {
    const NodeQuant& x = a.quant.nodes[i];
    const NodeQuant& y = b.quant.nodes[i];
    INFO("quant node " << i);
    CHECK(x.has_output == y.has_output);
    if (x.has_output && y.has_output) {
      std::uint32_t xs = 0, ys = 0;
      std::memcpy(&xs, &x.output.scale, 4);
      std::memcpy(&ys, &y.output.scale, 4);
      CHECK(xs == ys);
      CHECK(x.output.zero_point == y.output.zero_point);
    }
    CHECK(x.cell_exponent == y.cell_exponent);
    REQUIRE(x.constants.size() == y.constants.size());
    for (std::size_t k = 0; k < x.constants.size(); ++k) {
      INFO("constant '" << x.constants[k].name << "'");
      CHECK(x.constants[k].name == y.constants[k].name);
      CHECK(TensorsIdentical(x.constants[k].value, y.constants[k].value));
    }
  }
}

// Every field, every parameter bit, the quantization record. CHECKs so a
// failure names the difference.
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
  CheckQuantIdentical(a, b);
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

// Edits the header of a valid file and rebuilds the container with a correct
// CRC, so only header validation can catch the edit.
inline std::vector<std::uint8_t> EditHeader(const std::vector<std::uint8_t>& valid,
                                            const std::function<void(nlohmann::json&)>& edit) {
  Parts p = SplitFile(valid);
  edit(p.header);
  return JoinFile(p);
}

// Parses `bytes` as `name` and requires an error naming it and containing `word`.
inline void ExpectParseError(const std::vector<std::uint8_t>& bytes, const std::string& name,
                             const std::string& word) {
  auto r = frontends::ParseModel(bytes.data(), bytes.size(), name);
  REQUIRE_FALSE_MESSAGE(r.ok(), "expected an error containing '" << word << "'");
  const std::string msg = r.status().message();
  CHECK_MESSAGE(Contains(msg, name + ": "), msg);
  CHECK_MESSAGE(Contains(msg, word), msg);
}

// ---- quantized models ------------------------------------------------------

// Random bytes in every element.
inline void FillRandom(Tensor& t, std::mt19937& rng) {
  auto* p = static_cast<std::uint8_t*>(t.raw());
  for (std::size_t i = 0; i < t.bytes(); ++i) p[i] = static_cast<std::uint8_t>(rng());
}

// A synthetic QuantSpec (values are not meaningful, only valid for the file):
// per-node output parameters (the extremes of float scales and int8 zero
// points among them), LSTM cell exponents, and per parameter one constant of
// every allowed dtype (i8, f32, i32, f16, bf16) with random bytes, plus an
// empty and a scalar constant on the input node.
inline void AttachSyntheticQuant(Model& m, std::uint32_t seed, QuantScheme scheme = QuantScheme::kInt8,
                                 kernels::RequantMode mode = kernels::RequantMode::kSingle) {
  std::mt19937 rng(seed);
  QuantSpec q;
  q.scheme = scheme;
  q.mode = mode;
  q.info = {{"observer", "minmax"}, {"calibration.samples", "512"}, {"raw", std::string("\xff\xfe\0x", 4)}};
  if (scheme != QuantScheme::kFloat) {
    const float special[] = {std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                             std::numeric_limits<float>::max(), 1.0f, 0.0235f};
    for (std::size_t i = 0; i < m.nodes.size(); ++i) {
      const Node& node = m.nodes[i];
      NodeQuant nq;
      nq.has_output = i + 1 < m.nodes.size();  // the logits stay float
      if (i < std::size(special)) {
        nq.output.scale = special[i];
      } else {
        std::uint32_t bits = static_cast<std::uint32_t>(rng()) & 0x7f7fffffu;  // positive, finite
        if (bits == 0) bits = 1;
        std::memcpy(&nq.output.scale, &bits, 4);
      }
      nq.output.zero_point = i == 1 ? -128 : i == 2 ? 127 : static_cast<std::int32_t>(rng() % 256) - 128;
      nq.cell_exponent = std::holds_alternative<LstmOp>(node.op) ? -11 : i == 1 ? -31 : i == 2 ? 31 : 0;
      if (i == 0) {
        nq.constants.push_back({"empty", Tensor(DType::kI8, Shape{0, 4})});
        nq.constants.push_back({"scalar", Tensor(DType::kF32, Shape{})});
        FillRandom(nq.constants.back().value, rng);
      }
      for (const Param& p : node.params) {
        const Shape& s = p.value.shape();
        const Shape rows{s.rank() > 0 ? s[0] : 1};
        const std::pair<std::string, Tensor> cs[] = {{p.name, Tensor(DType::kI8, s)},
                                                     {p.name + "_scale", Tensor(DType::kF32, rows)},
                                                     {p.name + "_i32", Tensor(DType::kI32, rows)},
                                                     {p.name + "_f16", Tensor(DType::kF16, s)},
                                                     {p.name + "_bf16", Tensor(DType::kBF16, s)}};
        for (const auto& [name, t] : cs) {
          nq.constants.push_back({name, t});
          FillRandom(nq.constants.back().value, rng);
        }
      }
      q.nodes.push_back(std::move(nq));
    }
  }
  m.quant = std::move(q);
}

}  // namespace qualm::testing
