// libFuzzer target: the IDX reader, raw and gzip (ReadIdxUbyte, LoadIdxPair).
//
// Structure-aware through the input's first byte instead of a custom mutator:
// mode 0 gives the rest to the reader as is (raw IDX, or a gzip stream the
// fuzzer builds byte by byte, CRC and all: rarely valid); mode 1 gzip-compresses
// the rest first, so the mutations land in the IDX header and data behind a
// valid gzip CRC and length, which byte mutation never produces; mode 2 splits
// the rest into an image and a label file for LoadIdxPair. Limits are small
// (max_decompressed_bytes 1 MiB) so a bomb is a finding only if it gets past them.
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "qualm/frontends/idx.h"

namespace {

std::vector<std::uint8_t> Gzip(const std::uint8_t* data, std::size_t size) {
  z_stream zs{};
  deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<std::uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)) + 32);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  ++data;
  --size;
  qualm::frontends::InputLimits limits;
  limits.max_decompressed_bytes = 1u << 20;
  const std::string& a = qualm::fuzz::ScratchPath("a.idx");
  if (mode == 2) {
    if (size == 0) return 0;
    // Image file | label file, split at the first byte's value (mod size).
    const std::size_t cut = data[0] % size;
    const std::string& b = qualm::fuzz::ScratchPath("b.idx");
    qualm::fuzz::WriteScratch(a, data, cut);
    qualm::fuzz::WriteScratch(b, data + cut, size - cut);
    qualm::frontends::IdxOptions o;
    o.limits = limits;
    o.limit = data[0] % 4;  // 0 (all) or a prefix
    auto ds = qualm::frontends::LoadIdxPair(a, b, "fuzz", o);
    if (ds.ok()) {
      QUALM_FUZZ_EXPECT(ds->f32.size() == ds->size() * ds->sample_size());
    }
    return 0;
  }
  if (mode == 1) {
    const std::vector<std::uint8_t> gz = Gzip(data, size);
    qualm::fuzz::WriteScratch(a, gz.data(), gz.size());
  } else {
    qualm::fuzz::WriteScratch(a, data, size);
  }
  auto arr = qualm::frontends::ReadIdxUbyte(a, 0, 0, limits);
  if (arr.ok()) {
    std::uint64_t total = 1;
    for (auto d : arr->dims) total *= d;
    QUALM_FUZZ_EXPECT(arr->data.size() == total);
  }
  auto whole = qualm::frontends::ReadFileMaybeGzip(a, limits);
  if (whole.ok()) QUALM_FUZZ_EXPECT(whole->size() <= limits.max_decompressed_bytes);
  return 0;
}
