// CPU feature detection (cpu.h): CPUID + XGETBV, once per process, and the ISA
// cap from QUALM_ISA, read once. Both live in a function-local static, so the
// first caller pays and every later call is a load; there is no other global
// state and nothing reads the environment afterwards.
#include "qualm/kernels/cpu.h"

#include "qualm/kernels/context.h"

// CPUID exists on x86 only; other architectures (the ARM runtime builds)
// detect no extension and run the generic variants.
#if defined(__x86_64__) || defined(__i386__)
#define QUALM_CPU_X86 1
#include <cpuid.h>
#endif

#include <cstdlib>
#include <string>

namespace qualm::kernels {
namespace {

struct CpuState {
  CpuFeatures features;
  Isa detected = Isa::kScalar;
  Isa cap = Isa::kAvx512Vnni;
  std::string cap_note;  // "(QUALM_ISA unset)", "(QUALM_ISA=avx2)", or why it was rejected
};

[[maybe_unused]] bool Bit(unsigned reg, int bit) { return (reg >> bit) & 1u; }

CpuFeatures Detect() {
  CpuFeatures f;
#if !defined(QUALM_CPU_X86)
  return f;
#else
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = Bit(ecx, 27), avx = Bit(ecx, 28);
  f.fma = Bit(ecx, 12);
  f.f16c = Bit(ecx, 29);
  if (osxsave && avx) {
    // XCR0: bits 1-2 = SSE and AVX state; bits 5-7 = opmask, ZMM_Hi256, Hi16_ZMM.
    unsigned xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    f.os_avx = (xcr0_lo & 0x6u) == 0x6u;
    f.os_avx512 = f.os_avx && (xcr0_lo & 0xE0u) == 0xE0u;
  }
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    f.avx2 = Bit(ebx, 5);
    f.avx512f = Bit(ebx, 16);
    f.avx512dq = Bit(ebx, 17);
    f.avx512bw = Bit(ebx, 30);
    f.avx512vl = Bit(ebx, 31);
    f.avx512vnni = Bit(ecx, 11);
    // Leaf 7 sub-leaf 1 exists when sub-leaf 0 reports EAX >= 1.
    if (eax >= 1) {
      unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
      __cpuid_count(7, 1, eax1, ebx1, ecx1, edx1);
      f.avx_vnni = Bit(eax1, 4);
    }
  }
  return f;
#endif
}

bool HasAvx2(const CpuFeatures& f) { return f.os_avx && f.avx2 && f.fma && f.f16c; }
// The flags of the avxvnni files (-mavxvnni -mavx2 -mfma -mf16c).
bool HasAvxVnni(const CpuFeatures& f) { return HasAvx2(f) && f.avx_vnni; }

// The best ISA whose per-file flags (cmake/QualmFlags.cmake) the machine fully supports.
Isa BestIsa(const CpuFeatures& f) {
  const bool avx2 = HasAvx2(f);
  const bool avx512 = avx2 && f.os_avx512 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
  if (avx512 && f.avx512vnni) return Isa::kAvx512Vnni;
  if (avx512) return Isa::kAvx512;
  if (HasAvxVnni(f)) return Isa::kAvxVnni;
  if (avx2) return Isa::kAvx2;
  return Isa::kScalar;
}

const CpuState& State() {
  static const CpuState state = [] {
    CpuState s;
    s.features = Detect();
    s.detected = BestIsa(s.features);
    const char* env = std::getenv("QUALM_ISA");
    if (env == nullptr || *env == '\0') {
      s.cap = Isa::kAvx512Vnni;
      s.cap_note = "(QUALM_ISA unset)";
    } else {
      const std::string v = env;
      s.cap_note = "(QUALM_ISA=" + v + ")";
      if (v == "scalar") s.cap = Isa::kScalar;
      else if (v == "avx2") s.cap = Isa::kAvx2;
      else if (v == "avxvnni") s.cap = Isa::kAvxVnni;
      else if (v == "avx512") s.cap = Isa::kAvx512;
      else if (v == "avx512vnni") s.cap = Isa::kAvx512Vnni;
      else {
        // Fail safe: an unrecognized cap means the most conservative path.
        s.cap = Isa::kScalar;
        s.cap_note = "(QUALM_ISA=" + v + " not recognized: expected scalar|avx2|avxvnni|avx512|avx512vnni; using scalar)";
      }
    }
    return s;
  }();
  return state;
}

}  // namespace

const CpuFeatures& DetectedCpu() { return State().features; }
Isa DetectedIsa() { return State().detected; }
Isa IsaCap() { return State().cap; }

Isa ActiveIsa() {
  const CpuState& s = State();
  const Isa a = static_cast<int>(s.detected) < static_cast<int>(s.cap) ? s.detected : s.cap;
  // A cap of avxvnni on an AVX-512 CPU without AVX-VNNI: the best level below it.
  return a == Isa::kAvxVnni && !HasAvxVnni(s.features) ? Isa::kAvx2 : a;
}

bool IsaAvailable(Isa isa) {
  if (isa == Isa::kAvxVnni && !HasAvxVnni(State().features)) return false;
  return static_cast<int>(isa) <= static_cast<int>(ActiveIsa());
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

std::string DescribeCpu() {
  const CpuState& s = State();
  const CpuFeatures& f = s.features;
  std::string feats;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!feats.empty()) feats += ' ';
    feats += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512dq, "avx512dq");
  add(f.avx512vl, "avx512vl");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx_vnni, "avxvnni");
  if (!f.os_avx && (f.avx2 || f.fma)) add(true, "[OS has not enabled AVX state]");
  if (f.os_avx && !f.os_avx512 && f.avx512f) add(true, "[OS has not enabled AVX-512 state]");
  if (feats.empty()) feats = "none";
  return std::string("detected ") + IsaName(s.detected) + " (" + feats + "), cap " + IsaName(s.cap) + " " +
         s.cap_note + ", active " + IsaName(ActiveIsa());
}

double MinWorkPerThread() {
  static const double value = [] {
    const char* e = std::getenv("QUALM_THREAD_MIN_WORK");
    if (e == nullptr || *e == '\0') return kDefaultMinWorkPerThread;
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    return end != e && v >= 0 ? v : kDefaultMinWorkPerThread;  // unparsable: the default
  }();
  return value;
}

int ThreadsForWorkWith(int threads, double work, double min_per_thread) {
  if (threads <= 1) return 1;
  if (min_per_thread <= 0) return threads;
  const double fit = work / min_per_thread;
  return fit >= threads ? threads : (fit < 2 ? 1 : static_cast<int>(fit));
}

int ThreadsForWork(int threads, double work) { return ThreadsForWorkWith(threads, work, MinWorkPerThread()); }

}  // namespace qualm::kernels
