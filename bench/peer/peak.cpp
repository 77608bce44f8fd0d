// bench/peer/peak.cpp: times the per-ISA peak loops (peak.h).
#include "peer/peak.h"

#include <time.h>

#include <algorithm>

#include "qualm/kernels/cpu.h"

namespace qualm_peer {
namespace {

// The calling thread's CPU time in seconds: on a shared machine the loop's
// rate per second of CPU, not of wall clock (other processes do not lower it).
double ThreadSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Operations per CPU second of `loop`, best of three runs of about `seconds` / 3.
template <typename Loop>
double Rate(Loop loop, double seconds) {
  std::int64_t iters = 1000;
  for (;;) {  // grow until one run takes about 10 ms
    const double t0 = ThreadSeconds();
    loop(iters);
    if (ThreadSeconds() - t0 > 0.01) break;
    iters *= 4;
  }
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    double ops = 0;
    const double t0 = ThreadSeconds();
    double t = 0;
    while (t < seconds / 3) {
      ops += loop(iters);
      t = ThreadSeconds() - t0;
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
