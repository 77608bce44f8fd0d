// qualm/kernels/cpu.h: CPU features, detected once, and the ISA cap.
//
// The cap comes from the environment variable QUALM_ISA (scalar, avx2, avx512,
// avx512vnni), read once at first use, so that one machine can run every path
// below the one it supports. Dispatchers ask IsaAvailable() and can say why a
// path was chosen or rejected (DescribeDispatch in each op family).
#pragma once

#include <string>

namespace qualm::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false;
  bool os_avx = false, os_avx512 = false;  // XSAVE state enabled by the OS
};

const CpuFeatures& DetectedCpu();   // what the hardware and OS support
Isa DetectedIsa();                  // best ISA the hardware supports
Isa IsaCap();                       // from QUALM_ISA, or kAvx512Vnni when unset
Isa ActiveIsa();                    // min(DetectedIsa(), IsaCap())
bool IsaAvailable(Isa isa);         // isa <= ActiveIsa()
const char* IsaName(Isa isa);
// One line: "detected avx2 (avx2 fma f16c), cap avx512vnni (QUALM_ISA unset), active avx2".
std::string DescribeCpu();

}  // namespace qualm::kernels
