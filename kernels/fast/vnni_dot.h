// fast/vnni_dot.h (private): vpdpbusd (u8 x s8 quads summed into int32 lanes,
// the NON-saturating form) as an in-place accumulate, for the VNNI
// translation units.
//
// Why inline asm and not the intrinsics: GCC 12 (Debian 12's compiler)
// expands _mm512_dpbusd_epi32 / _mm256_dpbusd_avx_epi32 without tying the
// accumulator to the destination register in unrolled loops, and in the GEMM
// micro-kernels it rotated all 16 accumulators through register copies on
// every k step (32 vmovdqa plus a spill per 16 vpdpbusd, seen with perf
// annotate on s8u8_gemm_8x32c4__avx512vnni). The asm names the same
// instruction, so every result is the intrinsic's bit for bit; "+v" / "+x"
// keeps the accumulator in one register.
#pragma once

#include <immintrin.h>

namespace qualm::kernels::detail::vnni {
namespace {

#if defined(__AVX512VNNI__)
// acc + per 32-bit lane sum of u8(u) * s8(w) over the lane's 4 bytes (zmm).
inline __m512i Dpbusd(__m512i acc, __m512i u, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
  return acc;
}
#endif

#if defined(__AVXVNNI__)
// The same on ymm with the VEX encoding of AVX-VNNI ({vex}, written %{vex%}
// in GCC asm where braces are dialect separators: the assembler
// would otherwise pick the EVEX form, which needs AVX512-VNNI + VL).
inline __m256i DpbusdVex(__m256i acc, __m256i u, __m256i w) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(w));
  return acc;
}
#endif

}  // namespace
}  // namespace qualm::kernels::detail::vnni
