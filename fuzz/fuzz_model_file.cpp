// libFuzzer target: the model file reader (ParseModel, ParseCheckpoint).
//
// Structure-aware: byte-level mutation of a model file almost never gets past
// the total-length field and the CRC-32, so the custom mutator below splits a
// container into its JSON header and data section, mutates one of them with
// libFuzzer's own mutator, and rebuilds the preamble (lengths), the 64-byte
// padding and the CRC. One mutation in eight is left raw so the container
// checks themselves stay fuzzed. Dictionary: model_file.dict (the header's
// JSON keys and op names).
//
// Properties checked besides "no crash, no sanitizer report": a file that
// parses serializes again and that serialization parses (the writer accepts
// everything the reader accepts).
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "qualm/frontends/model_file.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

constexpr std::size_t kPreamble = 32, kAlign = 64;

std::uint64_t GetLe(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
void PutLe(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Rebuilds a container from its parts: the fields a mutation would break.
std::size_t Rebuild(const std::uint8_t* preamble, const std::vector<std::uint8_t>& header,
                    const std::vector<std::uint8_t>& data, std::uint8_t* out, std::size_t max_size) {
  const std::size_t data_start = (kPreamble + header.size() + kAlign - 1) / kAlign * kAlign;
  const std::size_t total = data_start + data.size() + 4;
  if (total > max_size) return 0;
  std::memset(out, 0, total);
  std::memcpy(out, preamble, kPreamble);
  PutLe(out + 16, total, 8);
  PutLe(out + 24, header.size(), 8);
  if (!header.empty()) std::memcpy(out + kPreamble, header.data(), header.size());
  if (!data.empty()) std::memcpy(out + data_start, data.data(), data.size());
  PutLe(out + total - 4, crc32(0, out, static_cast<uInt>(total - 4)), 4);
  return total;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  const bool container = size >= kPreamble + 4 && std::memcmp(data, "QUALMMDL", 8) == 0;
  std::uint64_t header_bytes = container ? GetLe(data + 24, 8) : 0;
  if (!container || seed % 8 == 0 || header_bytes > size - kPreamble - 4) return LLVMFuzzerMutate(data, size, max_size);
  const std::size_t data_start = (kPreamble + header_bytes + kAlign - 1) / kAlign * kAlign;
  if (data_start > size - 4) return LLVMFuzzerMutate(data, size, max_size);
  std::uint8_t preamble[kPreamble];
  std::memcpy(preamble, data, kPreamble);
  std::vector<std::uint8_t> header(data + kPreamble, data + kPreamble + header_bytes);
  std::vector<std::uint8_t> section(data + data_start, data + size - 4);
  // Three in four mutations go to the header: that is where the structure is.
  std::vector<std::uint8_t>& part = (seed / 8) % 4 == 3 ? section : header;
  const std::size_t room = max_size > size ? max_size - size : 0;
  const std::size_t old = part.size();
  part.resize(old + room + 1);
  part.resize(LLVMFuzzerMutate(part.data(), old, old + room));
  // The data section stays a multiple of 64 bytes (the container requires it).
  section.resize((section.size() + kAlign - 1) / kAlign * kAlign);
  const std::size_t n = Rebuild(preamble, header, section, data, max_size);
  return n > 0 ? n : LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = qualm::frontends::ParseModel(data, size, "fuzz.qm");
  if (model.ok()) {
    const std::vector<std::uint8_t> again = qualm::frontends::SerializeModel(*model);
    auto reparsed = qualm::frontends::ParseModel(again.data(), again.size(), "again.qm");
    QUALM_FUZZ_EXPECT(reparsed.ok());
  }
  auto checkpoint = qualm::frontends::ParseCheckpoint(data, size, "fuzz.ckpt");
  (void)checkpoint;
  return 0;
}
