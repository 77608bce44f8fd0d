// bench/peer/peak.h: the machine's measured peaks, the denominators of the
// "% of peak" counters (bench_vs_onednn, `qualm bench`).
//
// Each loop runs 12 independent accumulator chains (enough to cover the FMA /
// VNNI latency on two ports) of one instruction for a fixed CPU time on the
// calling thread (CLOCK_THREAD_CPUTIME_ID, so other processes on a shared
// machine do not lower it), so the result is a per-core rate. Each ISA's loop lives in its own
// translation unit with that ISA's flags (peak_<isa>.cpp); a loop runs only if
// the CPU has the ISA (kernels/cpu.h, under the QUALM_ISA cap).
//   FMA:  vfmadd231ps, 2 FLOP per lane (8 lanes AVX2, 16 lanes AVX-512)
//   VNNI: vpdpbusd (512-bit), 4 u8 x s8 MACs per lane = 128 ops per instruction
#pragma once

#include <cstdint>
#include <string>

namespace qualm_peer {

struct Peaks {
  double fma_gflops = 0;   // per core; 0 when no FMA loop runs here
  std::string fma_isa;     // "avx512" / "avx2" / "none"
  double vnni_gops = 0;    // per core; 0 when the CPU has no AVX-512 VNNI
  std::string vnni_isa;    // "avx512vnni" / "none"
};

// Measures each loop for about `seconds` (best of three).
Peaks MeasurePeaks(double seconds);

// The loops: `iters` iterations; return the operations they performed.
double FmaLoopAvx2(std::int64_t iters);
double FmaLoopAvx512(std::int64_t iters);
double VnniLoopAvx512(std::int64_t iters);

}  // namespace qualm_peer
