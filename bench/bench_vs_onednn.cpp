// qualm against oneDNN in one process, on the study's layer shapes
// (bench/peer/peer_cases.h lists them and the implementations): float and
// int8 conv / dense, float LSTM / GRU (the text models' 200 steps), batch 1
// and 64, 1 and 2 threads.
//
// Rows are named <dtype>/<model>/<layer>/b<batch>/t<threads>/<impl>. Counters:
//   GOPs      operations per second / 1e9 (2 per multiply-add)
//   pct_peak  percent of the machine's measured peak for that thread count
//             (per-core peak x threads): the vpdpbusd loop for int8, the FMA
//             loop for float (bench/peer/peak.h); absent when there is no loop
// Times: CPU time for 1 thread (meaningful on a shared machine), wall-clock
// (UseRealTime) for 2 threads, whose rows are noisy when other work runs.
// Operands, Prepare, packing and oneDNN primitives are built before the timed
// loop. The JSON context records the CPU, the measured peaks, qualm's dispatch
// choices and the oneDNN version/ISA. bench/compare.py turns the JSON into the
// Markdown table of qualm / oneDNN ratios kept in bench/results/.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "peer/peak.h"
#include "peer/peer_cases.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/onednn.h"

namespace {

qualm_peer::Peaks g_peaks;

void Register(const qualm_peer::PeerCase& c) {
  for (const std::string& impl : c.impls) {
    auto* b = benchmark::RegisterBenchmark((c.Name() + "/" + impl).c_str(), [c, impl](benchmark::State& state) {
      auto made = c.make(impl);
      if (!made.ok()) {
        state.SkipWithError(made.status().ToString().c_str());
        return;
      }
      made->run();  // warm-up: first-touch of buffers, oneDNN's lazy init
      for (auto _ : state) made->run();
      const double peak = (c.dtype == "s8" ? g_peaks.vnni_gops : g_peaks.fma_gflops) * 1e9 * c.threads;
      const double ops = c.ops * static_cast<double>(state.iterations());
      state.counters["GOPs"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsRate);
      if (peak > 0) state.counters["pct_peak"] = benchmark::Counter(ops * 100.0 / peak, benchmark::Counter::kIsRate);
      state.SetLabel(made->kernel);
    });
    // 1 thread: CPU time, which stays meaningful on a shared machine; 2
    // threads: wall-clock time (CPU time would count the main thread only).
    if (c.threads > 1) b->UseRealTime();
    b->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace qk = qualm::kernels;
  benchmark::Initialize(&argc, argv);
  g_peaks = qualm_peer::MeasurePeaks(0.6);
  benchmark::AddCustomContext("qualm_cpu", qk::DescribeCpu());
  benchmark::AddCustomContext("qualm_gemm_path", qk::GemmPathName());
  benchmark::AddCustomContext("qualm_int8_gemm_path", qk::Int8GemmPathName());
  benchmark::AddCustomContext("onednn", qk::onednn::Describe());
  benchmark::AddCustomContext("peak_fma_gflops_per_core", std::to_string(g_peaks.fma_gflops) + " (" + g_peaks.fma_isa + ")");
  benchmark::AddCustomContext("peak_vnni_gops_per_core", std::to_string(g_peaks.vnni_gops) + " (" + g_peaks.vnni_isa + ")");
  auto cases = qualm_peer::MakePeerCases({});
  if (!cases.ok()) {
    std::fprintf(stderr, "bench_vs_onednn: %s\n", cases.status().ToString().c_str());
    return 1;
  }
  for (const auto& c : *cases) Register(c);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
