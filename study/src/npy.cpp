#include "qualm/study/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace qualm::study {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

std::string Header(const char* descr, const std::vector<std::size_t>& shape) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ',';  // a Python 1-tuple
  dict += "), }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n' == multiple of 64.
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string h(kMagic, 6);
  h += '\x01';
  h += '\x00';
  const std::uint16_t len = static_cast<std::uint16_t>(dict.size());
  h += static_cast<char>(len & 0xff);
  h += static_cast<char>(len >> 8);
  return h + dict;
}

template <typename T>
std::string Bytes(const char* descr, const std::vector<T>& values, const std::vector<std::size_t>& shape) {
  std::string out = Header(descr, shape);
  const std::size_t at = out.size();
  out.resize(at + values.size() * sizeof(T));
  // x86 and ARM (the targets) are little-endian, as '<' says.
  if (!values.empty()) std::memcpy(&out[at], values.data(), values.size() * sizeof(T));
  return out;
}

}  // namespace

std::string NpyBytesI32(const std::vector<std::int32_t>& v, const std::vector<std::size_t>& shape) {
  return Bytes("<i4", v, shape);
}
std::string NpyBytesF32(const std::vector<float>& v, const std::vector<std::size_t>& shape) {
  return Bytes("<f4", v, shape);
}

Result<NpyArray> ParseNpy(const std::string& b, const std::string& what) {
  if (b.size() < 10 || b.compare(0, 6, kMagic, 6) != 0) return InvalidArgument(what + ": not a .npy file");
  if (b[6] != 1) return InvalidArgument(what + ": .npy format version " + std::to_string(int(b[6])) + " (expected 1)");
  const std::size_t len = static_cast<unsigned char>(b[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8);
  if (b.size() < 10 + len) return InvalidArgument(what + ": truncated .npy header");
  const std::string dict = b.substr(10, len);
  NpyArray a;
  auto value_of = [&](const std::string& key) -> std::string {
    const std::size_t k = dict.find("'" + key + "'");
    if (k == std::string::npos) return {};
    std::size_t p = dict.find(':', k);
    if (p == std::string::npos) return {};
    ++p;
    while (p < dict.size() && dict[p] == ' ') ++p;
    const char open = dict[p];
    const char close = open == '\'' ? '\'' : open == '(' ? ')' : ',';
    const std::size_t e = dict.find(close, p + 1);
    if (e == std::string::npos) return {};
    return dict.substr(open == '\'' || open == '(' ? p + 1 : p, e - (open == '\'' || open == '(' ? p + 1 : p));
  };
  a.dtype = value_of("descr");
  if (a.dtype != "<i4" && a.dtype != "<f4") return InvalidArgument(what + ": dtype '" + a.dtype + "' (expected <i4 or <f4)");
  if (value_of("fortran_order") != "False") return InvalidArgument(what + ": Fortran order is not supported");
  std::stringstream shape(value_of("shape"));
  std::string dim;
  std::size_t count = 1;
  while (std::getline(shape, dim, ',')) {
    const std::size_t first = dim.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    std::size_t v = 0;
    for (std::size_t i = first; i < dim.size() && dim[i] != ' '; ++i) {
      if (dim[i] < '0' || dim[i] > '9' || v > (std::size_t{1} << 40)) return InvalidArgument(what + ": bad shape");
      v = v * 10 + static_cast<std::size_t>(dim[i] - '0');
    }
    a.shape.push_back(v);
    if (v != 0 && count > (std::size_t{1} << 40) / v) return InvalidArgument(what + ": shape too large");
    count *= v;
  }
  if (a.shape.empty()) return InvalidArgument(what + ": missing shape");
  if (b.size() - 10 - len != count * 4)
    return InvalidArgument(what + ": " + std::to_string(b.size() - 10 - len) + " data bytes for " +
                           std::to_string(count) + " elements");
  const char* data = b.data() + 10 + len;
  if (a.dtype == "<i4") {
    a.i32.resize(count);
    if (count) std::memcpy(a.i32.data(), data, count * 4);
  } else {
    a.f32.resize(count);
    if (count) std::memcpy(a.f32.data(), data, count * 4);
  }
  return a;
}

Result<NpyArray> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return ParseNpy(s.str(), path);
}

}  // namespace qualm::study
