// The AVX-512 gate stage of fast::lstm_s8 / fast::gru_s8
// (detail/recurrent_s8_variants.h), compiled with AVX-512 flags (this file
// name): the zmm steps of fast/recurrent_s8_gates_avx512.h (requantization,
// gates, cell and hidden output on 16 int32 / 32 int16 lanes) with
// fast/fixedpoint_avx512.h's sigmoid / tanh. The entry points pick one
// instantiation per (mode, cell tanh integer bits) from constant tables.
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "fast/recurrent_s8_gates_avx512.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kModeCount = 3;  // RequantMode kGemmlowp, kSingle, kFloat (0, 1, 2)
constexpr RequantMode kModeOf[kModeCount] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};
constexpr int kBitCounts = fixedpoint::kMaxTanhIntegerBits + 1;

using LstmFn = void (*)(const PreparedLstmS8&, const RnnS8StepRow&);
using GruFn = void (*)(const PreparedGruS8&, const RnnS8StepRow&);
using RequantXFn = void (*)(const RnnS8RowRequant&, const std::int32_t*, std::int16_t*);

// [mode][bits]
constexpr auto kLstmSteps = []<int... m>(std::integer_sequence<int, m...>) {
  auto row = []<int kM, int... b>(std::integral_constant<int, kM>, std::integer_sequence<int, b...>) {
    return std::array<LstmFn, kBitCounts>{&LstmStepZ<kModeOf[kM], b>...};
  };
  return std::array<std::array<LstmFn, kBitCounts>, kModeCount>{
      row(std::integral_constant<int, m>{}, std::make_integer_sequence<int, kBitCounts>{})...};
}(std::make_integer_sequence<int, kModeCount>{});

constexpr GruFn kGruSteps[kModeCount] = {&GruStepZ<kModeOf[0]>, &GruStepZ<kModeOf[1]>, &GruStepZ<kModeOf[2]>};

// [mode][any_left]
constexpr RequantXFn kRequantX[kModeCount][2] = {
    {&RequantXZ<kModeOf[0], false>, &RequantXZ<kModeOf[0], true>},
    {&RequantXZ<kModeOf[1], false>, &RequantXZ<kModeOf[1], true>},
    {&RequantXZ<kModeOf[2], false>, &RequantXZ<kModeOf[2], true>}};

int ModeIndex(RequantMode mode) {
  const int m = static_cast<int>(mode);
  QUALM_DCHECK(m >= 0 && m < kModeCount && kModeOf[m] == mode);
  return m;
}

// The activations of s8_rnn_activation_32c__avx512 (the exhaustive test's entry).
using ActFn = __m512i (*)(__m512i);
template <int kBits>
__m512i TanhZ(__m512i x) {
  return fpz::Tanh32<kBits>(x);
}
__m512i SigmoidQ3_12Z(__m512i x) { return fpz::Logistic32<3>(x); }
// (A fold, not a std::array: GCC drops the vector type's attributes in a template argument.)
ActFn TanhInt16Z(int bits) {
  return [&]<int... b>(std::integer_sequence<int, b...>) {
    ActFn fn = nullptr;
    ((bits == b ? (fn = &TanhZ<b>, 0) : 0), ...);
    return fn;
  }(std::make_integer_sequence<int, kBitCounts>{});
}

}  // namespace

void s8_rnn_requant_x_32c__avx512(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax) {
  kRequantX[ModeIndex(rq.mode)][rq.any_left ? 1 : 0](rq, acc, ax);
}

void s8_rnn_lstm_step_32c__avx512(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  const int bits = 15 + p.cell_exponent;
  QUALM_DCHECK(bits >= 0 && bits < kBitCounts);
  kLstmSteps[static_cast<std::size_t>(ModeIndex(p.mode))][static_cast<std::size_t>(bits)](p, row);
}

void s8_rnn_gru_step_32c__avx512(const PreparedGruS8& p, const RnnS8StepRow& row) {
  kGruSteps[ModeIndex(p.mode)](p, row);
}

void s8_rnn_activation_32c__avx512(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                   std::size_t n) {
  ActFn fn = nullptr;
  switch (f) {
    case RnnS8Activation::kSigmoidQ3_12: fn = &SigmoidQ3_12Z; break;
    case RnnS8Activation::kTanhQ3_12: fn = &TanhZ<3>; break;
    case RnnS8Activation::kTanhInt16: fn = TanhInt16Z(integer_bits); break;
  }
  if (fn == nullptr) {
    std::memset(y, 0, n * sizeof(std::int16_t));  // an unsupported count: 0, as fixedpoint::TanhInt16
    return;
  }
  for (std::size_t i = 0; i < n; i += 32) {
    const std::size_t m = n - i < 32 ? n - i : 32;
    const auto k = static_cast<__mmask32>(m == 32 ? ~0u : (1u << m) - 1u);
    _mm512_mask_storeu_epi16(y + i, k, fn(_mm512_maskz_loadu_epi16(k, x + i)));
  }
}

}  // namespace qualm::kernels::detail
