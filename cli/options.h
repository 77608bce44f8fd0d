// cli/options.h: the options several subcommands share, declared once so each
// has one spelling, one meaning and one check everywhere:
//   -o,--output FILE   the file a command writes (never one of its inputs)
//   --threads N        1 .. the hardware threads this process may run on
//   --backend B        kernel path for running models, float and int8 alike:
//                      fast (SIMD, chosen at run time) or reference (frozen scalar)
//   --limit N          only the first N samples of each data set (N >= 1)
//   --fashion-dir D, --spam-dir D   data folders; defaults from the environment
//                      (QUALM_FASHION_MNIST_DIR, QUALM_DATA_DIR) or the built-in ones
// Every check runs while the command line is parsed, before any work starts.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/status.h"

namespace qualm::cli {

// Hardware threads this process may run on (its CPU affinity mask), >= 1.
int HardwareThreads();

CLI::Option* AddOutputOption(CLI::App& app, std::string& path, const std::string& help);
// --threads; 0 afterwards means "not given" (ResolveThreads picks the default).
CLI::Option* AddThreadsOption(CLI::App& app, int& threads);
int ResolveThreads(int threads);
CLI::Option* AddBackendOption(CLI::App& app, Backend& backend);
CLI::Option* AddLimitOption(CLI::App& app, std::size_t& limit, const std::string& help = "");
// --fashion-dir and --spam-dir, plus the environment defaults (applied at parse time).
void AddDataDirOptions(CLI::App& app, frontends::DataSpecOptions& options);
// Help text for --data: every spec form the data layer understands.
std::string DataSpecHelp(const std::string& what);

// Validators for integers that must be at least 1.
CLI::Validator AtLeastOne();

// An output file must not be one of the command's inputs: the same path, or
// the same file reached another way (a link, "./m.qm" for "m.qm").
Status CheckOutputIsNotInput(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace qualm::cli
