// qualm: the command line.
//
//   qualm train --arch lenet5 --data fashion-mnist --epochs 15 --seed 1 -o m.qm
//   qualm eval m.qm --data fashion-mnist:test [--json]
//   qualm info m.qm [--json]
//   qualm zoo --out runs/default
//   qualm cpu
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "commands.h"

namespace qualm::cli {

const char* Version() { return "0.1.0"; }

int DefaultThreads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "qualm %s: %s\n", command.c_str(), status.message().c_str());
  return 1;
}

}  // namespace qualm::cli

int main(int argc, char** argv) {
  // OpenMP workers (Eigen's GEMM) sleep instead of spinning between parallel
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
  add("zoo", "Train (resumably) and evaluate the default model set", qualm::cli::RegisterZoo);
  add("cpu", "Show the detected CPU and the kernel paths qualm would use", qualm::cli::RegisterCpu);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
