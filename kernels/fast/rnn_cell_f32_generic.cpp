// The float LSTM / GRU cells for the x86-64 baseline: the reference cell
// itself (internal/rnn_cell.h) and DetExp / DetTanh / DetSigmoid per element.
// This row is what the SIMD rows are tested against (detail/rnn_cell_f32_variants.h).
#include <cstddef>
#include <cstdint>

#include "internal/rnn_cell.h"
#include "qualm/kernels/detail/det_math.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

template <float (*F)(float)>
void Apply(std::size_t n, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = F(x[i]);
}

}  // namespace

RnnCellF32Variant RnnCellF32Generic() {
  RnnCellF32Variant v{};
  v.isa = Isa::kScalar;
  v.name = "f32_rnn_cell_1c__generic";
  v.exp = &Apply<&DetExp>;
  v.tanh = &Apply<&DetTanh>;
  v.sigmoid = &Apply<&DetSigmoid>;
  v.lstm_forward = &internal::LstmCellForward;
  v.lstm_backward = &internal::LstmCellBackward;
  v.gru_forward = &internal::GruCellForward;
  v.gru_backward = &internal::GruCellBackward;
  return v;
}

}  // namespace qualm::kernels::detail
