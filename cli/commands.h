// cli/commands.h: the `qualm` subcommands. Each registers its
// options on the CLI11 app and returns a process exit code when run: 0 on
// success, 1 on an error (printed as "qualm <cmd>: <message>"), 2 on bad usage.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "qualm/status.h"

namespace qualm::cli {

using Runner = std::function<int()>;

Runner RegisterTrain(CLI::App& app);
Runner RegisterEval(CLI::App& app);
Runner RegisterInfo(CLI::App& app);
Runner RegisterCpu(CLI::App& app);
Runner RegisterZoo(CLI::App& app);
Runner RegisterQuantize(CLI::App& app);
Runner RegisterCompare(CLI::App& app);
Runner RegisterStudy(CLI::App& app);
Runner RegisterShift(CLI::App& app);
Runner RegisterReport(CLI::App& app);
Runner RegisterMatrix(CLI::App& app);
Runner RegisterAttribute(CLI::App& app);
Runner RegisterImport(CLI::App& app);
Runner RegisterExport(CLI::App& app);
Runner RegisterBench(CLI::App& app);

// Prints "qualm <command>: <status message>" and returns 1.
int Fail(const std::string& command, const Status& status);
// The end of a command with a JSON result: writes `json` (already dumped) to
// out_path atomically when one is given, then prints it (json_flag) or `text`.
// Returns 0, or Fail's 1 when the file cannot be written.
int EmitResult(const std::string& command, const std::string& out_path, bool json_flag, const std::string& json,
               const std::string& text);
// The version string recorded in every result.
const char* Version();
// From now on, SIGINT or SIGTERM print this line to stderr and end the process
// with 128 + the signal number. For resumable commands: the line says how to
// resume. (Results are written atomically, so a stop never leaves half a file.)
void SetInterruptMessage(const std::string& line);

}  // namespace qualm::cli
