// qualm/frontends/atomic_file.h: writing a result file so that nothing written
// before is lost. The one implementation used for models, checkpoints,
// summaries and predictions.
#pragma once

#include <string>
#include <string_view>

#include "qualm/status.h"

namespace qualm::frontends {

// Writes `bytes` to path.tmp.<pid>, flushes and fsyncs it, renames it over
// `path`, then fsyncs the directory. On any failure the temporary file is
// removed and an existing file at `path` is left untouched; the message names
// the path and the step that failed. Before writing, "<path>.tmp.<pid>" files
// left by writers that were killed (their pid no longer runs) are removed.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace qualm::frontends
