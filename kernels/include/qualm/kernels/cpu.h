// qualm/kernels/cpu.h: CPU features, detected once, and the ISA cap.
//
// The cap comes from the environment variable QUALM_ISA (scalar, avx2, avxvnni,
// avx512, avx512vnni), read once at first use, so that one machine can run every path
// below the one it supports. Dispatchers ask IsaAvailable() and can say why a
// path was chosen or rejected (DescribeDispatch in each op family).
#pragma once

#include <string>

namespace qualm::kernels {

// Levels, in cap order. kAvxVnni (AVX2 plus the 256-bit VEX vpdpbusd,
// CPUID.(EAX=7,ECX=1):EAX[4]) is not implied by the levels above it: many
// AVX-512 CPUs (Skylake-X, Cascade Lake, Ice Lake) lack it. So it is available
// only when the CPU has it and the cap is avxvnni or higher; a CPU with
// AVX-512 but no AVX-VNNI runs the avx2 or avx512* variants instead.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvxVnni = 2, kAvx512 = 3, kAvx512Vnni = 4 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false;
  bool avx_vnni = false;  // CPUID.(EAX=7,ECX=1):EAX[4], the VEX-encoded vpdpbusd on xmm/ymm
  bool os_avx = false, os_avx512 = false;  // XSAVE state enabled by the OS
};

const CpuFeatures& DetectedCpu();   // what the hardware and OS support
Isa DetectedIsa();                  // best level the hardware supports (kAvxVnni only without AVX-512)
Isa IsaCap();                       // from QUALM_ISA, or kAvx512Vnni when unset
Isa ActiveIsa();                    // min(DetectedIsa(), IsaCap()); avx2 for a cap of avxvnni on a CPU without it
bool IsaAvailable(Isa isa);         // isa <= ActiveIsa(), and for kAvxVnni the CPU has AVX-VNNI
const char* IsaName(Isa isa);
// One line: "detected avx2 (avx2 fma f16c), cap avx512vnni (QUALM_ISA unset), active avx2".
std::string DescribeCpu();

}  // namespace qualm::kernels
