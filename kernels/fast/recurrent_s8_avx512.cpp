// The AVX-512 gate stage of fast::lstm_s8 / fast::gru_s8
// (detail/recurrent_s8_variants.h), compiled with AVX-512 flags (this file
// name): the AVX2 steps of fast/recurrent_s8_gates_avx2.h (its requantization
// and cell arithmetic on ymm halves), with the sigmoid / tanh, most of the
// work, on one zmm of 32 int16 lanes (fast/fixedpoint_avx512.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "fast/fixedpoint_avx512.h"
#include "fast/recurrent_s8_gates_avx2.h"

namespace qualm::kernels::detail {
namespace {

namespace fpz = fixedpoint::avx512;

// Two ymm into one zmm and back, with the maskz forms and a full mask: GCC 12
// warns (-Wuninitialized) on the undefined pass-through operand inside the
// plain insert / extract / cast intrinsics (as fast/int8_gemm_avx512vnni.cpp).
inline __m512i Join(__m256i a, __m256i b) {
  return _mm512_maskz_inserti64x4(0xFF, _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(), a, 0), b, 1);
}
inline void Split(__m512i v, __m256i& a, __m256i& b) {
  a = _mm512_maskz_extracti64x4_epi64(0xFF, v, 0);
  b = _mm512_maskz_extracti64x4_epi64(0xFF, v, 1);
}

struct Act32 {
  using CellFn = void (*)(__m256i&, __m256i&);
  static void Sigmoid(__m256i& a, __m256i& b) { Split(fpz::Logistic32<3>(Join(a, b)), a, b); }
  static void Tanh(__m256i& a, __m256i& b) { Split(fpz::Tanh32<3>(Join(a, b)), a, b); }
  template <int kBits>
  static void CellTanh(__m256i& a, __m256i& b) {
    Split(fpz::Tanh32<kBits>(Join(a, b)), a, b);
  }
  static CellFn Cell(int bits) {
    return [&]<int... k>(std::integer_sequence<int, k...>) {
      CellFn fn = nullptr;
      ((bits == k ? (fn = &CellTanh<k>, 0) : 0), ...);
      return fn;
    }(std::make_integer_sequence<int, fixedpoint::kMaxTanhIntegerBits + 1>{});
  }
};

}  // namespace

void s8_rnn_lstm_step_32c__avx512(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  LstmStepAnyMode<Act32>(p, row);
}

void s8_rnn_gru_step_32c__avx512(const PreparedGruS8& p, const RnnS8StepRow& row) { GruStepAnyMode<Act32>(p, row); }

void s8_rnn_activation_32c__avx512(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                   std::size_t n) {
  Act32::CellFn fn = nullptr;
  switch (f) {
    case RnnS8Activation::kSigmoidQ3_12: fn = &Act32::Sigmoid; break;
    case RnnS8Activation::kTanhQ3_12: fn = &Act32::Tanh; break;
    case RnnS8Activation::kTanhInt16: fn = Act32::Cell(integer_bits); break;
  }
  if (fn == nullptr) {
    std::memset(y, 0, n * sizeof(std::int16_t));  // an unsupported count: 0, as fixedpoint::TanhInt16
    return;
  }
  for (std::size_t i = 0; i < n; i += 32) {
    alignas(64) std::int16_t buf[32] = {};
    const std::size_t m = n - i < 32 ? n - i : 32;
    std::memcpy(buf, x + i, m * sizeof(std::int16_t));
    __m256i a = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
    __m256i b = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + 16));
    fn(a, b);
    _mm256_store_si256(reinterpret_cast<__m256i*>(buf), a);
    _mm256_store_si256(reinterpret_cast<__m256i*>(buf + 16), b);
    std::memcpy(y + i, buf, m * sizeof(std::int16_t));
  }
}

}  // namespace qualm::kernels::detail
