// qualm/kernels/detail/recurrent_s8_variants.h: the per-ISA "gate stage" of
// fast::lstm_s8 / fast::gru_s8 (recurrent_s8.h), exposed for tests and
// benchmarks only. The GEMMs are the dispatched int8 GEMM (int8_gemm.h); a gate
// stage variant is everything after them, per batch row and step:
//   requant_x  one (b, t) row of the input product: ax[r] = sat16(RQ(acc[r] +
//              bias_x[r], M_x[r])) for r < G*H (the Q3.12 input term, which
//              is also the GRU's xn for the n rows);
//   lstm_step  from ax, the raw recurrent accumulators and the LSTM state
//              (c, Q at 2^e): the gates, c and h exactly as ref::lstm_s8's step 2;
//   gru_step   the same for the GRU (state s in Q0.15);
//   activation the vector sigmoid / tanh on n int16 values (for the exhaustive test).
// Names (kernels/NAMING.md): s8_rnn_gates_16c__avx2 = 16 hidden units (int16
// lanes) per vector; s8_rnn_gates_32c__avx512 = the same steps on zmm
// (16 int32 rows / 32 int16 units per register, AVX-512 F/BW/VL/DQ); s8_rnn_gates_1c__generic = the scalar functions of
// fixedpoint.h / requant.h one unit at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/recurrent_s8.h"
#include "qualm/kernels/requant.h"

namespace qualm::kernels::detail {

// Rows and units are padded to a multiple of kRnnS8RowPad (two AVX2 or one
// AVX-512 register of int16: the steps' unit block); padding rows have M = 0,
// bias 0 (their results are computed and never read).
constexpr int kRnnS8RowPad = 32;
inline std::int64_t RnnS8Padded(std::int64_t n) { return (n + kRnnS8RowPad - 1) / kRnnS8RowPad * kRnnS8RowPad; }

RnnS8RowRequant MakeRnnS8RowRequant(const std::vector<Requant>& requant, const std::vector<std::int32_t>& bias,
                                    RequantMode mode);

// What a step sees of one batch row. Buffers are padded to kRnnS8RowPad
// (ax, acc_h: RnnS8Padded(G*H) entries; state, h: RnnS8Padded(H)); `work` holds
// 2 * RnnS8Padded(G*H) + kRnnS8RowPad int16.
struct RnnS8StepRow {
  const std::int16_t* ax = nullptr;    // [G*H] sat16(RQ(acc_x)), Q3.12
  const std::int32_t* acc_h = nullptr; // [G*H] raw sum_j w_h[r][j] * h[j]
  const RnnS8RowRequant* rq_h = nullptr;
  std::int16_t* work = nullptr;
  std::int16_t* state = nullptr;       // [H] c (LSTM, at 2^e) or s (GRU, Q0.15), updated in place
  std::int8_t* h = nullptr;            // [H] written
};

enum class RnnS8Activation : std::uint8_t { kSigmoidQ3_12, kTanhQ3_12, kTanhInt16 };

struct RnnS8GatesVariant {
  Isa isa;
  const char* name;
  void (*requant_x)(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax);
  void (*lstm_step)(const PreparedLstmS8& p, const RnnS8StepRow& row);
  void (*gru_step)(const PreparedGruS8& p, const RnnS8StepRow& row);
  // y[i] = f(x[i]) for i < n; integer_bits is TanhInt16's (kTanhInt16 only).
  void (*activation)(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y, std::size_t n);
};

// generic: fast/recurrent_s8_generic.cpp; AVX2: fast/recurrent_s8_avx2.cpp.
void s8_rnn_requant_x_1c__generic(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax);
void s8_rnn_lstm_step_1c__generic(const PreparedLstmS8& p, const RnnS8StepRow& row);
void s8_rnn_gru_step_1c__generic(const PreparedGruS8& p, const RnnS8StepRow& row);
void s8_rnn_activation_1c__generic(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                   std::size_t n);
void s8_rnn_requant_x_16c__avx2(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax);
void s8_rnn_lstm_step_16c__avx2(const PreparedLstmS8& p, const RnnS8StepRow& row);
void s8_rnn_gru_step_16c__avx2(const PreparedGruS8& p, const RnnS8StepRow& row);
void s8_rnn_activation_16c__avx2(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                 std::size_t n);
// AVX-512 (fast/recurrent_s8_avx512.cpp).
void s8_rnn_requant_x_32c__avx512(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax);
void s8_rnn_lstm_step_32c__avx512(const PreparedLstmS8& p, const RnnS8StepRow& row);
void s8_rnn_gru_step_32c__avx512(const PreparedGruS8& p, const RnnS8StepRow& row);
void s8_rnn_activation_32c__avx512(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                   std::size_t n);

// Best first, ending with the generic row.
const std::vector<RnnS8GatesVariant>& RnnS8GatesVariants();
// The variant fast::lstm_s8 / gru_s8 call now (the dispatcher's choice, or the test override).
const RnnS8GatesVariant& ActiveRnnS8GatesVariant();
// "s8_rnn_gates_16c__avx2: chosen; s8_rnn_gates_1c__generic: not needed" and the like.
std::string DescribeRnnS8GatesDispatch();

// Test-only hook, as ScopedInt8GemmIsaForTesting: while alive the fast RNN
// kernels run the gate stage for `isa`; ok() is false (and nothing changes) if
// there is none or the ISA is not available.
class ScopedRnnS8GatesIsaForTesting {
 public:
  explicit ScopedRnnS8GatesIsaForTesting(Isa isa);
  ~ScopedRnnS8GatesIsaForTesting();
  ScopedRnnS8GatesIsaForTesting(const ScopedRnnS8GatesIsaForTesting&) = delete;
  ScopedRnnS8GatesIsaForTesting& operator=(const ScopedRnnS8GatesIsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const RnnS8GatesVariant* previous_ = nullptr;
};

}  // namespace qualm::kernels::detail
