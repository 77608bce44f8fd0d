// Private helpers of the data frontends: whole-file reads with Status errors,
// sorted directory listings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/status.h"

namespace qualm::frontends::detail {

// `max_bytes` > 0: a file larger than that is an error naming `limit_name`
// (an InputLimits field), checked from its size before anything is read.
Result<std::string> ReadWholeFile(const std::string& path, std::uint64_t max_bytes = 0,
                                  const char* limit_name = "");

// Names (not paths) of the entries of `dir`, sorted by byte order, hidden
// entries (leading '.') skipped; `want_dirs` selects directories or regular files.
Result<std::vector<std::string>> ListDir(const std::string& dir, bool want_dirs);

// ASCII lowercase of the extension including the dot ("" when none).
std::string LowerExtension(const std::string& name);

}  // namespace qualm::frontends::detail
