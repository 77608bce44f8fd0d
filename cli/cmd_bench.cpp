// cli/cmd_bench.cpp: `qualm bench [--model M] [--quick]`, qualm against oneDNN
// on the study's layer shapes in this process, printed as the same Markdown
// table as bench/compare.py makes from bench_vs_onednn's JSON (the cases and
// peaks are bench/peer/'s). A short user-facing version: each implementation
// runs for a fixed time (0.2 s, --quick 0.02 s and 1 thread only), after one
// untimed warm-up run; operands, packing and oneDNN primitives are built first.
// 1-thread rates use the thread's CPU time (meaningful on a busy machine),
// multi-thread rates wall-clock time. Speed is reported, never checked.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "peer/peak.h"
#include "peer/peer_cases.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/onednn.h"

namespace qualm::cli {
namespace {

struct BenchArgs {
  std::string model = "all";
  bool quick = false;
};

double ThreadSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Rate {
  bool ran = false;
  double gops = 0, pct = -1;
  std::string kernel;
};

Rate Measure(const qualm_peer::PeerCase& c, const std::string& impl, double min_seconds, double peak_gops) {
  Rate r;
  auto made = c.make(impl);
  if (!made.ok()) {
    r.kernel = made.status().message();
    return r;
  }
  made->run();  // warm-up
  const bool cpu = c.threads == 1;
  const double t0 = cpu ? ThreadSeconds() : WallSeconds();
  double t = 0;
  std::int64_t iters = 0;
  while (t < min_seconds || iters == 0) {
    made->run();
    ++iters;
    t = (cpu ? ThreadSeconds() : WallSeconds()) - t0;
  }
  r.ran = true;
  r.gops = c.ops * static_cast<double>(iters) / t * 1e-9;
  if (peak_gops > 0) r.pct = 100.0 * r.gops / (peak_gops * c.threads);
  r.kernel = made->kernel;
  return r;
}

std::string Format(const Rate& r) {
  if (!r.ran) return "-";
  char buf[64];
  if (r.pct >= 0) std::snprintf(buf, sizeof buf, "%.1f (%.0f %%)", r.gops, r.pct);
  else std::snprintf(buf, sizeof buf, "%.1f", r.gops);
  return buf;
}

int Run(const BenchArgs& a) {
  qualm_peer::PeerOptions o;
  if (a.model != "all") o.models = {a.model};
  if (a.quick) o.threads = {1};
  auto cases = qualm_peer::MakePeerCases(o);
  if (!cases.ok()) return Fail("bench", cases.status());
  const double seconds = a.quick ? 0.02 : 0.2;
  const qualm_peer::Peaks peaks = qualm_peer::MeasurePeaks(a.quick ? 0.15 : 0.6);
  std::printf("# qualm vs oneDNN, same process\n\n");
  std::printf("- qualm_cpu: %s\n- qualm_gemm_path: %s\n- qualm_int8_gemm_path: %s\n- onednn: %s\n",
              kernels::DescribeCpu().c_str(), kernels::GemmPathName(), kernels::Int8GemmPathName(),
              kernels::onednn::Describe().c_str());
  std::printf("- peak_fma_gflops_per_core: %.1f (%s)\n- peak_vnni_gops_per_core: %.1f (%s)\n\n", peaks.fma_gflops,
              peaks.fma_isa.c_str(), peaks.vnni_gops, peaks.vnni_isa.c_str());
  std::printf("GOP/s (2 ops per multiply-add) and %% of the measured peak x threads; ratio = qualm / oneDNN "
              "(> 1: qualm faster).%s\n\n",
              a.quick ? " --quick: short runs, noisy." : "");
  std::printf("| dtype | model | layer | batch | threads | qualm | oneDNN | qualm / oneDNN | oneDNN s32 + qualm requant "
              "| kernels (qualm; oneDNN) |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& c : *cases) {
    const double peak = c.dtype == "s8" ? peaks.vnni_gops : peaks.fma_gflops;
    Rate q, d, s;
    for (const std::string& impl : c.impls) {
      Rate r = Measure(c, impl, seconds, peak);
      (impl == "qualm" ? q : impl == "onednn" ? d : s) = r;
    }
    char ratio[32] = "-";
    if (q.ran && d.ran && d.gops > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", q.gops / d.gops);
    std::printf("| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s; %s |\n", c.dtype.c_str(), c.model.c_str(),
                c.layer.c_str(), c.batch, c.threads, Format(q).c_str(), Format(d).c_str(), ratio, Format(s).c_str(),
                q.kernel.empty() ? "-" : q.kernel.c_str(), d.kernel.empty() ? "-" : d.kernel.c_str());
    std::fflush(stdout);
  }
  if (!kernels::onednn::Available())
    std::printf("\noneDNN columns are empty: %s\n", kernels::onednn::kUnavailableMessage);
  return 0;
}

}  // namespace

Runner RegisterBench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  std::vector<std::string> models{"all"};
  for (const auto& m : qualm_peer::PeerModels()) models.push_back(m);
  app.add_option("--model", a->model, "Layer shapes of one model (lenet5, resnet20, nin, lstm, gru) or all (default)")
      ->check(CLI::IsMember(models));
  app.add_flag("--quick", a->quick, "Short runs, 1 thread only (a smoke test of the table, numbers are noisy)");
  return [a] { return Run(*a); };
}

}  // namespace qualm::cli
