// Helpers shared by the libFuzzer targets (fuzz/README.md).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace qualm::fuzz {

// The parsers that take a path get the input through one scratch file per
// process, in /dev/shm when it exists (no disk I/O per execution).
inline const std::string& ScratchPath(const char* name) {
  static const std::string path = [name] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/qualm-fuzz-" + std::to_string(getpid()) + "-" + name;
  }();
  return path;
}

inline void WriteScratch(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

// A property the parser promises (e.g. a model that loads saves and loads
// again): its violation is a finding, reported like a crash.
#define QUALM_FUZZ_EXPECT(cond)                                                     \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "fuzz property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

}  // namespace qualm::fuzz
