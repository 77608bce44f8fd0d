#include "io_util.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

namespace qualm::frontends::detail {

Result<std::string> ReadWholeFile(const std::string& path, std::uint64_t max_bytes, const char* limit_name) {
  // stdio with one sized read: the corpus loader reads thousands of files, and
  // this is several times faster than istreambuf_iterator.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return NotFound(path + ": cannot open file");
  if (max_bytes > 0) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes)
      return InvalidArgument(path + ": file is " + std::to_string(size) + " bytes, more than the limit " + limit_name +
                             "=" + std::to_string(max_bytes));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    out.append(buf, n);
    // A file that grows while being read (or a pipe) is held to the limit too.
    if (max_bytes > 0 && out.size() > max_bytes)
      return InvalidArgument(path + ": file is more than the limit " + std::string(limit_name) + "=" +
                             std::to_string(max_bytes) + " bytes");
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return IoError(path + ": read error");
  return out;
}

Result<std::vector<std::string>> ListDir(const std::string& dir, bool want_dirs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(dir + ": not a directory");
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return IoError(dir + ": cannot list directory: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return IoError(dir + ": cannot list directory: " + ec.message());
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec2;
    const bool is_dir = it->is_directory(ec2);
    const bool is_file = it->is_regular_file(ec2);
    if ((want_dirs && is_dir) || (!want_dirs && is_file)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string LowerExtension(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = name.substr(dot);
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return ext;
}

}  // namespace qualm::frontends::detail
