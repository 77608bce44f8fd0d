// The AVX2 gate stage of fast::lstm_s8 / fast::gru_s8
// (detail/recurrent_s8_variants.h), compiled with AVX2 flags (this file name):
// the steps of fast/recurrent_s8_gates_avx2.h with fast/fixedpoint_avx2.h's
// 16-lane sigmoid / tanh, each half of a 32-unit block in turn.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "fast/fixedpoint_avx2.h"
#include "fast/recurrent_s8_gates_avx2.h"

namespace qualm::kernels::detail {
namespace {

namespace fpv = fixedpoint::avx2;

struct Act16 {
  using CellFn = void (*)(__m256i&, __m256i&);
  static void Sigmoid(__m256i& a, __m256i& b) {
    a = fpv::SigmoidQ3_12x16(a);
    b = fpv::SigmoidQ3_12x16(b);
  }
  static void Tanh(__m256i& a, __m256i& b) {
    a = fpv::TanhQ3_12x16(a);
    b = fpv::TanhQ3_12x16(b);
  }
  template <int kBits>
  static void CellTanh(__m256i& a, __m256i& b) {
    a = fpv::Tanh16<kBits>(a);
    b = fpv::Tanh16<kBits>(b);
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

void s8_rnn_requant_x_16c__avx2(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax) {
  RequantXAnyMode(rq, acc, ax);
}

void s8_rnn_lstm_step_16c__avx2(const PreparedLstmS8& p, const RnnS8StepRow& row) { LstmStepAnyMode<Act16>(p, row); }

void s8_rnn_gru_step_16c__avx2(const PreparedGruS8& p, const RnnS8StepRow& row) { GruStepAnyMode<Act16>(p, row); }

void s8_rnn_activation_16c__avx2(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                 std::size_t n) {
  fpv::TanhInt16x16Fn fn = nullptr;
  switch (f) {
    case RnnS8Activation::kSigmoidQ3_12: fn = &fpv::Logistic16<3>; break;
    case RnnS8Activation::kTanhQ3_12: fn = &fpv::Tanh16<3>; break;
    case RnnS8Activation::kTanhInt16: fn = fpv::GetTanhInt16x16(integer_bits); break;
  }
  if (fn == nullptr) {
    std::memset(y, 0, n * sizeof(std::int16_t));  // an unsupported count: 0, as fixedpoint::TanhInt16
    return;
  }
  for (std::size_t i = 0; i < n; i += 16) {
    alignas(32) std::int16_t in[16] = {}, res[16];
    const std::size_t m = n - i < 16 ? n - i : 16;
    std::memcpy(in, x + i, m * sizeof(std::int16_t));
    _mm256_store_si256(reinterpret_cast<__m256i*>(res), fn(_mm256_load_si256(reinterpret_cast<const __m256i*>(in))));
    std::memcpy(y + i, res, m * sizeof(std::int16_t));
  }
}

}  // namespace qualm::kernels::detail
