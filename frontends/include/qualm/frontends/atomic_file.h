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

// Crash-safety test hook (tests/cli/cli_kill_test.sh). When the environment
// variable QUALM_TEST_KILL_AT is "<step>" or "<step>:<n>", the process raises
// SIGKILL the n-th time (default: the first) it reaches `step`. Steps:
// "after_fsync" (temporary file written and synced, not yet renamed),
// "after_rename" (new file in place, directory not yet synced), both in
// WriteFileAtomically; "before_checkpoint_removal" (study/train_run.cpp). The
// variable is read once per process; unset, a call costs a comparison. It is
// the one environment variable the library reads, and only to die.
void KillPointForTest(const char* step);

}  // namespace qualm::frontends
