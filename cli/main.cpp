// qualm: the command line.
//
//   qualm train --arch lenet5 --data fashion-mnist --epochs 15 --seed 1 -o m.qm
//   qualm eval m.qm --data fashion-mnist:test [--json]
//   qualm info m.qm [--json]
//   qualm zoo --out runs/default
//   qualm import model.onnx -o m.qm ; qualm export m.qm -o m.onnx
//   qualm cpu
#include <CLI/CLI.hpp>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "commands.h"
#include "qualm/frontends/atomic_file.h"

namespace qualm::cli {

const char* Version() { return QUALM_VERSION_STRING; }

namespace {
// Written before the handler is installed, read only by it.
char g_interrupt_line[1024];
std::size_t g_interrupt_length = 0;

extern "C" void OnInterrupt(int sig) {
  // Only async-signal-safe calls here.
  if (write(STDERR_FILENO, "\n", 1) < 0 || write(STDERR_FILENO, g_interrupt_line, g_interrupt_length) < 0) {
    // Nothing more can be done about a failed write to stderr.
  }
  _exit(128 + sig);
}
}  // namespace

void SetInterruptMessage(const std::string& line) {
  const std::string text = line + "\n";
  g_interrupt_length = std::min(text.size(), sizeof g_interrupt_line);
  std::memcpy(g_interrupt_line, text.data(), g_interrupt_length);
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "qualm %s: %s\n", command.c_str(), status.message().c_str());
  return 1;
}

int EmitResult(const std::string& command, const std::string& out_path, bool json_flag, const std::string& json,
               const std::string& text) {
  if (!out_path.empty()) {
    Status st = frontends::WriteFileAtomically(out_path, json + "\n");
    if (!st.ok()) return Fail(command, st);
  }
  if (json_flag)
    std::printf("%s\n", json.c_str());
  else
    std::printf("%s", text.c_str());
  return 0;
}

}  // namespace qualm::cli

int main(int argc, char** argv) {
  // OpenMP workers (the kernels' threads) sleep instead of spinning between parallel
  // regions: on a small machine shared with other work, spinning threads steal
  // the cores the other workers need (measured: >50 % of CPU time spinning in
  // libgomp while training LeNet-5 next to a compiler). Set before the OpenMP
  // runtime starts; a user's own setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  CLI::App app{"qualm: an int8 inference engine and quantization study lab"};
  app.set_version_flag("--version", qualm::cli::Version());
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, qualm::cli::Runner>> commands;
  auto add = [&](const char* name, const char* help, qualm::cli::Runner (*reg)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands.emplace_back(sub, reg(*sub));
  };
  add("train", "Train a model of the zoo on a data set", qualm::cli::RegisterTrain);
  add("eval", "Evaluate a model on a data set", qualm::cli::RegisterEval);
  add("info", "Describe a model file", qualm::cli::RegisterInfo);
  add("quantize", "Quantize a float model (int8, dynamic, weight-only-int8, fp16-weights, bf16-weights)",
      qualm::cli::RegisterQuantize);
  add("compare", "Accuracies of two models and the inputs where they disagree", qualm::cli::RegisterCompare);
  add("shift", "Generate shifted images (Fashion-MNIST-C: noise, blur, weather, digital, geometric)",
      qualm::cli::RegisterShift);
  add("matrix", "Backend disagreement matrix: float, int8 per requantization mode and kernel path, QAT",
      qualm::cli::RegisterMatrix);
  add("attribute", "Flip attribution: the first layer whose int8 output makes each disagreement; mixed precision",
      qualm::cli::RegisterAttribute);
  add("zoo", "Train (resumably) and evaluate the default model set", qualm::cli::RegisterZoo);
  add("study", "Run a study grid (preset or study file) resumably; status, report, merge", qualm::cli::RegisterStudy);
  add("report", "The study's analyses and report (report.html, report.md, analysis.json, tables) from a study folder",
      qualm::cli::RegisterReport);
  add("import", "Import an ONNX model (float or QDQ int8) into a qualm model file", qualm::cli::RegisterImport);
  add("export", "Export a qualm model file to ONNX (float, or int8 as QDQ)", qualm::cli::RegisterExport);
  add("cpu", "Show the detected CPU and the kernel paths qualm would use", qualm::cli::RegisterCpu);
  add("bench", "qualm against oneDNN on the study's layer shapes (a Markdown table)", qualm::cli::RegisterBench);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2 (commands.h).
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    // The library reports errors as Status; this is a last line of defence
    // (std::bad_alloc on a model too large for memory, say).
    std::fprintf(stderr, "qualm: %s\n", e.what());
    return 1;
  }
  return 2;
}
