#include "qualm/frontends/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace qualm::frontends {
namespace {
std::string ErrnoText(int err) { return std::generic_category().message(err); }

// Removes "<name>.tmp.<pid>" files next to `path` whose writer is gone: a
// writer killed between creating its temporary file and renaming it (SIGKILL,
// OOM killer, power loss) leaves one behind, and nothing else ever removes it.
// Stale means the pid is not a running process (kill(pid, 0) fails with
// ESRCH); a live pid's file may be another writer's save in progress and is
// kept. A reused pid keeps a stale file until that process ends: a leak, never
// a lost save. Best effort: errors (unreadable directory, races with another
// cleaner) are ignored, since the save itself does not depend on it.
void RemoveStaleTemporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".tmp.";
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to probe)
    std::error_code rm;
    fs::remove(it->path(), rm);
  }
}
}  // namespace

void KillPointForTest(const char* step) {
  struct Target {
    std::string step;
    int nth = 1;
  };
  static const Target target = [] {
    Target t;
    const char* v = std::getenv("QUALM_TEST_KILL_AT");
    if (!v || !*v) return t;
    const std::string s(v);
    const std::size_t colon = s.find(':');
    t.step = s.substr(0, colon);
    if (colon != std::string::npos) t.nth = std::atoi(s.c_str() + colon + 1);
    return t;
  }();
  static std::atomic<int> seen{0};
  if (target.step.empty() || target.step != step) return;
  if (++seen == target.nth) ::raise(SIGKILL);
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  RemoveStaleTemporaries(path);
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
  KillPointForTest("after_fsync");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return IoError(path + ": cannot rename " + tmp + " to it: " + ErrnoText(err));
  }
  KillPointForTest("after_rename");
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
