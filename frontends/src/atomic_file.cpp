#include "qualm/frontends/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace qualm::frontends {
namespace {
std::string ErrnoText(int err) { return std::generic_category().message(err); }
}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IoError(path + ": cannot create temporary file " + tmp + ": " + ErrnoText(errno));
  auto fail = [&](const std::string& what, int err) {
    if (f) std::fclose(f);
    std::remove(tmp.c_str());  // ours: fopen created or truncated it
    return IoError(path + ": " + what + " " + tmp + ": " + ErrnoText(err));
  };
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) return fail("cannot write", errno);
  if (std::fflush(f) != 0) return fail("cannot flush", errno);
  if (::fsync(::fileno(f)) != 0) return fail("cannot fsync", errno);
  const int rc = std::fclose(f);
  f = nullptr;
  if (rc != 0) return fail("cannot close", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return IoError(path + ": cannot rename " + tmp + " to it: " + ErrnoText(err));
  }
  // Make the rename itself durable; failure here does not undo the save.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace qualm::frontends
