// The model file container: preamble, header, aligned data section, CRC-32;
// the version dispatch; atomic file writes; the public API.
//
// Reading is two-stage so that old files stay readable: the magic and the
// version (the only version-independent bytes) are read first, then a switch
// on the version picks that version's container and header readers. Versions
// 1 and 2 share the container layout; their headers differ (version 2 adds
// "quant"), and version-1 files keep going through the version-1 header code.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <system_error>

#include "model_file_internal.h"
#include "qualm/frontends/model_file.h"
#include "qualm/frontends/atomic_file.h"

namespace qualm::frontends {

using model_file::Json;

namespace {

constexpr std::size_t kMagicBytes = sizeof kModelFileMagic;
constexpr std::size_t kVersionEnd = 12;      // magic + u32 version: readable in every version
constexpr std::size_t kPreambleV1 = 32;      // + flags, total length, header length (versions 1 and 2)
constexpr std::uint32_t kKnownFlagsV1 = kModelFileFlagCheckpoint;  // versions 1 and 2

std::uint64_t AlignUp(std::uint64_t x) { return (x + kModelFileAlignment - 1) / kModelFileAlignment * kModelFileAlignment; }

void PutLe(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t GetLe(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

std::uint32_t Crc32(const std::uint8_t* p, std::uint64_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const auto chunk = static_cast<uInt>(n < (1u << 30) ? n : (1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

std::string Hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

// The first bytes of a file, printable ASCII as is, others as \xNN.
std::string EscapeMagic(const std::uint8_t* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && i < kMagicBytes; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '\\') {
      s.push_back(static_cast<char>(p[i]));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(p[i]));
      s += buf;
    }
  }
  return s;
}

std::vector<std::uint8_t> BuildFile(std::uint32_t flags, const model_file::EncodedHeader& enc) {
  const std::string text = enc.header.dump();  // compact; keys sorted: deterministic
  const std::uint64_t data_start = AlignUp(kPreambleV1 + text.size());
  const std::uint64_t total = data_start + enc.table.size + 4;
  std::vector<std::uint8_t> out(total, 0);
  std::memcpy(out.data(), kModelFileMagic, kMagicBytes);
  PutLe(&out[8], kModelFileVersion, 4);
  PutLe(&out[12], flags, 4);
  PutLe(&out[16], total, 8);
  PutLe(&out[24], text.size(), 8);
  std::memcpy(&out[kPreambleV1], text.data(), text.size());
  for (std::size_t i = 0; i < enc.table.tensors.size(); ++i) {
    const Tensor* t = enc.table.tensors[i];
    if (t->raw() && t->bytes() > 0) std::memcpy(&out[data_start + enc.table.offsets[i]], t->raw(), t->bytes());
  }
  PutLe(&out[total - 4], Crc32(out.data(), total - 4), 4);
  return out;
}

// The checked container of one file; pointers into the caller's buffer.
struct Container {
  std::uint32_t version = 0, flags = 0, crc = 0;
  std::uint64_t total = 0;
  const std::uint8_t* header = nullptr;
  std::uint64_t header_bytes = 0;
  const std::uint8_t* data = nullptr;
  std::uint64_t data_bytes = 0;
};

// The container of versions 1 and 2 (the same layout; `version` for messages).
Result<Container> ParseContainerV1(const std::uint8_t* p, std::size_t n, std::uint32_t version) {
  Container c;
  c.version = version;
  if (n < kPreambleV1)
    return DataLoss("truncated: file has " + std::to_string(n) + " bytes, the version-" + std::to_string(version) +
                    " preamble alone has " + std::to_string(kPreambleV1));
  c.flags = static_cast<std::uint32_t>(GetLe(p + 12, 4));
  c.total = GetLe(p + 16, 8);
  c.header_bytes = GetLe(p + 24, 8);
  if (c.total > n)
    return DataLoss("truncated: header says " + std::to_string(c.total) + " bytes, file has " + std::to_string(n));
  if (c.total < n)
    return DataLoss("size mismatch: header says " + std::to_string(c.total) + " bytes, file has " +
                    std::to_string(n) + " (trailing data)");
  if (c.total < kPreambleV1 + 4 || c.header_bytes > c.total - kPreambleV1 - 4 ||
      AlignUp(kPreambleV1 + c.header_bytes) > c.total - 4)
    return DataLoss("corrupt preamble: header length " + std::to_string(c.header_bytes) +
                    " does not fit a file of " + std::to_string(c.total) + " bytes");
  const std::uint64_t data_start = AlignUp(kPreambleV1 + c.header_bytes);
  c.header = p + kPreambleV1;
  c.data = p + data_start;
  c.data_bytes = c.total - 4 - data_start;
  c.crc = static_cast<std::uint32_t>(GetLe(p + c.total - 4, 4));
  const std::uint32_t computed = Crc32(p, c.total - 4);
  if (computed != c.crc) return DataLoss("checksum mismatch (stored " + Hex32(c.crc) + ", computed " + Hex32(computed) + ")");
  // Checked after the CRC: a flipped bit is reported as corruption, not as a feature.
  if ((c.flags & ~kKnownFlagsV1) != 0)
    return InvalidArgument("unknown flags " + Hex32(c.flags & ~kKnownFlagsV1) + " for format version " +
                           std::to_string(version));
  if (c.data_bytes % kModelFileAlignment != 0)
    return DataLoss("corrupt container: data section of " + std::to_string(c.data_bytes) +
                    " bytes is not a multiple of " + std::to_string(kModelFileAlignment));
  return c;
}

// Magic and version (version-independent), then that version's container.
Result<Container> ParseContainer(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return InvalidArgument("empty file (0 bytes), not a qualm model file");
  if (std::memcmp(p, kModelFileMagic, n < kMagicBytes ? n : kMagicBytes) != 0)
    return InvalidArgument("not a qualm model file (magic is '" + EscapeMagic(p, n) + "', expects 'QUALMMDL')");
  if (n < kVersionEnd)
    return DataLoss("truncated: file has " + std::to_string(n) + " bytes, too short to hold the format version");
  const auto version = static_cast<std::uint32_t>(GetLe(p + kMagicBytes, 4));
  switch (version) {
    case 1:
    case 2:
      return ParseContainerV1(p, n, version);
    default:
      break;
  }
  if (version == 0) return InvalidArgument("invalid file version 0");
  return Unimplemented("file version " + std::to_string(version) + " is newer than this build supports (" +
                       std::to_string(kModelFileVersion) + ")");
}

Result<model_file::DecodedHeader> ParseAll(const std::uint8_t* p, std::size_t n) {
  QUALM_ASSIGN_OR_RETURN(Container c, ParseContainer(p, n));
  // JSON text never holds a raw NUL; nlohmann would take one as the end of
  // input, letting a wrong header length through.
  if (std::memchr(c.header, 0, c.header_bytes) != nullptr) return InvalidArgument("header holds a NUL byte");
  Json header;
  try {
    header = Json::parse(c.header, c.header + c.header_bytes);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("header is not valid JSON: ") + e.what());
  }
  Result<model_file::DecodedHeader> decoded = Internal("unreachable");
  model_file::TensorReader reader(c.data, c.data_bytes);
  const bool checkpoint = (c.flags & kModelFileFlagCheckpoint) != 0;
  switch (c.version) {
    case 1:  // a float model: Model::quant stays the default (scheme "float")
      decoded = model_file::DecodeHeaderV1(header, reader, checkpoint);
      break;
    case 2:
      decoded = model_file::DecodeHeaderV2(header, reader, checkpoint);
      break;
    default:
      return Internal("no header reader for version " + std::to_string(c.version));
  }
  if (!decoded.ok()) return decoded.status();
  // The graph must be consistent: op fields, inputs and parameter shapes.
  auto shapes = InferShapes(static_cast<const Model&>(decoded->model));
  if (!shapes.ok()) return InvalidArgument("invalid model: " + shapes.status().message());
  return decoded;
}

// Runs `f`, converting any exception (out of memory, a JSON error missed
// above) into a Status: nothing escapes the public API.
template <class F>
auto NoThrow(const std::string& name, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Internal(name + ": out of memory");
  } catch (const std::exception& e) {
    return Internal(name + ": unexpected error: " + e.what());
  } catch (...) {
    return Internal(name + ": unexpected error");
  }
}

std::string ErrnoText(int err) { return std::generic_category().message(err); }

Result<std::vector<std::uint8_t>> ReadFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) return NotFound(path + ": no such file");
  if (ec) return IoError(path + ": cannot stat: " + ec.message());
  if (st.type() == fs::file_type::directory) return InvalidArgument(path + ": is a directory, not a model file");
  if (st.type() != fs::file_type::regular) return InvalidArgument(path + ": not a regular file");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return IoError(path + ": cannot open: " + ErrnoText(errno));
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, f.get());
    bytes.insert(bytes.end(), buf, buf + got);
    if (got < sizeof buf) break;
  }
  if (std::ferror(f.get())) return IoError(path + ": read error: " + ErrnoText(errno));
  return bytes;
}

Status WriteBytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  return WriteFileAtomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<std::vector<std::uint8_t>> SerializeChecked(const Model& model, const model_file::CheckpointRef& ckpt) {
  auto shapes = InferShapes(model);
  if (!shapes.ok()) return InvalidArgument("invalid model: " + shapes.status().message());
  QUALM_RETURN_IF_ERROR(model_file::ValidateQuantSpec(model.quant, model));
  std::uint32_t flags = 0;
  if (ckpt.state) {
    QUALM_RETURN_IF_ERROR(model_file::CheckStateFitsModel(model, *ckpt.state));
    flags |= kModelFileFlagCheckpoint;
  }
  return BuildFile(flags, model_file::EncodeHeaderV2(model, ckpt));
}

}  // namespace

std::vector<std::uint8_t> SerializeModel(const Model& model) {
  return BuildFile(0, model_file::EncodeHeaderV2(model, {}));
}

Result<Model> ParseModel(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors) {
  return NoThrow(name_for_errors, [&]() -> Result<Model> {
    auto decoded = ParseAll(data, size);
    if (!decoded.ok()) return decoded.status().WithContext(name_for_errors);
    return std::move(decoded->model);
  });
}

Status SaveModel(const Model& model, const std::string& path) {
  return NoThrow(path, [&]() -> Status {
    auto bytes = SerializeChecked(model, {});
    if (!bytes.ok()) return bytes.status().WithContext(path + ": not saved");
    return WriteBytes(path, *bytes);
  });
}

Result<Model> LoadModel(const std::string& path) {
  return NoThrow(path, [&]() -> Result<Model> {
    QUALM_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFile(path));
    return ParseModel(bytes.data(), bytes.size(), path);
  });
}

Result<ModelFileInfo> InspectModelFile(const std::string& path) {
  return NoThrow(path, [&]() -> Result<ModelFileInfo> {
    QUALM_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFile(path));
    auto c = ParseContainer(bytes.data(), bytes.size());
    if (!c.ok()) return c.status().WithContext(path);
    ModelFileInfo info;
    info.version = static_cast<int>(c->version);
    info.bytes = c->total;
    info.crc = c->crc;
    info.checkpoint = (c->flags & kModelFileFlagCheckpoint) != 0;
    return info;
  });
}

Result<std::vector<std::uint8_t>> SerializeCheckpoint(const Model& model, const Trainer::State& state,
                                                      const std::string& config_json) {
  return NoThrow("checkpoint", [&]() { return SerializeChecked(model, {&state, &config_json}); });
}

Result<Checkpoint> ParseCheckpoint(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors) {
  return NoThrow(name_for_errors, [&]() -> Result<Checkpoint> {
    auto decoded = ParseAll(data, size);
    if (!decoded.ok()) return decoded.status().WithContext(name_for_errors);
    if (!decoded->has_checkpoint)
      return InvalidArgument(name_for_errors + ": a model file, not a checkpoint (no trainer state)");
    Checkpoint c;
    c.model = std::move(decoded->model);
    c.state = std::move(decoded->state);
    c.config_json = std::move(decoded->config_json);
    return c;
  });
}

Status SaveCheckpoint(const Model& model, const Trainer::State& state, const std::string& config_json,
                      const std::string& path) {
  return NoThrow(path, [&]() -> Status {
    auto bytes = SerializeChecked(model, {&state, &config_json});
    if (!bytes.ok()) return bytes.status().WithContext(path + ": not saved");
    return WriteBytes(path, *bytes);
  });
}

Result<Checkpoint> LoadCheckpoint(const std::string& path) {
  return NoThrow(path, [&]() -> Result<Checkpoint> {
    QUALM_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFile(path));
    return ParseCheckpoint(bytes.data(), bytes.size(), path);
  });
}

}  // namespace qualm::frontends
