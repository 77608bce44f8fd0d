// bench/peer/peak.cpp: times the per-ISA peak loops (peak.h).
#include "peer/peak.h"

#include <algorithm>
#include <chrono>

#include "qualm/kernels/cpu.h"

namespace qualm_peer {
namespace {

// Operations per second of `loop`, best of three runs of about `seconds` / 3.
template <typename Loop>
double Rate(Loop loop, double seconds) {
  using clock = std::chrono::steady_clock;
  std::int64_t iters = 1000;
  for (;;) {  // grow until one run takes about 10 ms
    const auto t0 = clock::now();
    loop(iters);
    if (std::chrono::duration<double>(clock::now() - t0).count() > 0.01) break;
    iters *= 4;
  }
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    double ops = 0;
    const auto t0 = clock::now();
    double t = 0;
    while (t < seconds / 3) {
      ops += loop(iters);
      t = std::chrono::duration<double>(clock::now() - t0).count();
    }
    best = std::max(best, ops / t);
  }
  return best;
}

}  // namespace

Peaks MeasurePeaks(double seconds) {
  namespace qk = qualm::kernels;
  Peaks p;
  p.fma_isa = p.vnni_isa = "none";
  if (qk::IsaAvailable(qk::Isa::kAvx512)) {
    p.fma_gflops = Rate(FmaLoopAvx512, seconds) * 1e-9;
    p.fma_isa = "avx512";
  } else if (qk::IsaAvailable(qk::Isa::kAvx2)) {
    p.fma_gflops = Rate(FmaLoopAvx2, seconds) * 1e-9;
    p.fma_isa = "avx2";
  }
  if (qk::IsaAvailable(qk::Isa::kAvx512Vnni)) {
    p.vnni_gops = Rate(VnniLoopAvx512, seconds) * 1e-9;
    p.vnni_isa = "avx512vnni";
  }
  return p;
}

}  // namespace qualm_peer
