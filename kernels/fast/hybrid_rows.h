// fast/hybrid_rows.h (private): what fast::dense_hybrid and fast::conv2d_hybrid
// share: the scratch layout (one function for the size and the kernel, so
// they can never disagree), the per-sample quantization pass, the raw GEMM
// call on a tile and the float epilogue.
//
// The arithmetic (why the fast path is the reference bit for bit):
//  * Quantization: QuantizeSampleDynamic (hybrid_quant.h), per sample, in the
//    dispatched form of detail/hybrid_quant_variants.h (its bits exactly).
//  * Accumulator. The reference computes, per output c of a sample with zero
//    point zp, acc = sum over real taps k of w[c][k] * (q[k] - zp), an exact
//    int32 (Prepare: K * 255 * 127 < 2^31).
//    - s16 variants (S8Operands::kS16): A = q - zp as int16 and 0 at padding
//      taps, so the GEMM's exact sum IS acc. Correction 0.
//    - u8 x s8 variants (kU8S8): the weights are packed with input zero point
//      0, i.e. col_offset[c] = -128 * colsum[c] (colsum = sum over ALL k of
//      w[c][k], padding taps included); A = q + 128 at real taps and zp + 128
//      at padding taps. The GEMM returns
//        raw = -128 colsum + sum_real w (q + 128) + sum_pad w (zp + 128)
//            = sum_real w q + zp * sum_pad w,
//      and acc = sum_real w q - zp * sum_real w = raw - zp * colsum
//      (colsum = sum_real w + sum_pad w). Exact in int32: every partial sum
//      of the GEMM is -128 sum_{k>j} w + sum_{k<=j} w (u - 128) with |u - 128|
//      <= 128, so |partial| <= 128 * 127 * K < 2^31; raw - zp * colsum is
//      formed in int64 and equals acc, which is within the int32 bound.
//      For dense every batch row is a sample with its own zp; the correction
//      is per row, so one GEMM serves rows with different zero points.
//  * Epilogue: y = HybridProduct(acc, s_x, s_w[c]) (+ bias[c]), the same inline
//    function and float add as the reference (the project compiles with
//    -ffp-contract=off, so the add is never fused). Samples with a NaN or an
//    infinity give NaN rows, as the reference.
// Threads: samples are quantized in parallel (each independently), then the
// GEMM rows are split into tiles, and into column blocks when there are fewer
// tiles than threads, like the int8 kernels (fast/int8_rows.h);
// every output is computed from its own sample only, in fixed arithmetic, so
// the result does not depend on the thread count or the tile split.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "fast/int8_rows.h"
#include "qualm/kernels/detail/hybrid_quant_variants.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/hybrid_quant.h"

namespace qualm::kernels::fast::internal_hybrid {

// sum_k w[r][k] per row of a [rows][k] int8 weight matrix (dense [out][in],
// conv OHWI [out_c][kh * kw * in_c / groups]): the colsum of the u8 x s8
// correction. |sum| <= 127 k < 2^31 (Prepare's bound).
inline std::vector<std::int32_t> WeightRowSums(const std::int8_t* w, std::int64_t rows, std::int64_t k) {
  std::vector<std::int32_t> sums(static_cast<std::size_t>(rows), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int32_t sum = 0;
    for (std::int64_t i = 0; i < k; ++i) sum += w[r * k + i];
    sums[static_cast<std::size_t>(r)] = sum;
  }
  return sums;
}

using internal_s8::Index;

// One quantized sample's parameters (QuantizeSampleDynamic's result).
struct SampleQuant {
  float scale = 1.0f;
  std::int32_t zp = 0;
  std::int32_t finite = 1;
};

inline std::size_t Align64(std::size_t b) { return (b + 63) / 64 * 64; }
inline std::size_t BytesToFloats(std::size_t b) { return (b + sizeof(float) - 1) / sizeof(float); }

// Scratch layout (bytes from ctx.scratch), all regions 64-byte aligned:
//   [samples] SampleQuant, [samples][sample_elems] int8 q, then per thread
//   an A buffer (tile rows of k_padded int16, which also holds a u8 row of
//   (K + 3) / 4 * 4 <= 2 * k_padded bytes: int8_rows.h) and an int32
//   accumulator buffer [tile][cols].
struct Layout {
  Index tile = 0;                 // GEMM rows per tile
  std::size_t q_off = 0, threads_off = 0, a_bytes = 0, thread_stride = 0, total = 0;
};

inline Layout MakeLayout(Index samples, Index sample_elems, Index rows, Index k_padded, Index cols, int threads) {
  Layout l;
  const int nt = std::max(threads, 1);
  l.tile = internal_s8::TileRows(rows, k_padded, nt);
  l.q_off = Align64(static_cast<std::size_t>(samples) * sizeof(SampleQuant));
  l.threads_off = l.q_off + Align64(static_cast<std::size_t>(samples * sample_elems));
  l.a_bytes = Align64(static_cast<std::size_t>(l.tile * k_padded) * sizeof(std::int16_t));
  l.thread_stride = l.a_bytes + Align64(static_cast<std::size_t>(l.tile * cols) * sizeof(std::int32_t));
  l.total = l.threads_off + l.thread_stride * static_cast<std::size_t>(nt);
  return l;
}

// Quantizes `samples` samples of `elems` floats into q (row s at s * elems),
// in parallel over samples. A non-finite sample's q is zeroed (the GEMM then
// reads defined values; its outputs are NaN anyway).
inline void QuantizeSamples(const float* x, Index samples, Index elems, std::int8_t* q, SampleQuant* sq,
                            int threads) {
  const detail::QuantizeSampleFn quantize = detail::ActiveQuantizeSampleVariant().fn;  // QuantizeSampleDynamic's bits
  auto one = [&](Index s) {
    std::int8_t* qs = q + s * elems;
    const DynamicQuant d = quantize(x + s * elems, elems, qs);
    sq[s].finite = d.finite ? 1 : 0;
    sq[s].scale = d.params.scale;
    sq[s].zp = d.params.zero_point;
    if (!d.finite) {
      std::memset(qs, 0, static_cast<std::size_t>(elems));
      sq[s].scale = 1.0f, sq[s].zp = 0;
    }
  };
  const int nt = static_cast<int>(
      std::min<Index>(ThreadsForWork(threads, static_cast<double>(samples) * static_cast<double>(elems)), samples));
  if (nt <= 1) {
    for (Index s = 0; s < samples; ++s) one(s);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (Index s = 0; s < samples; ++s) one(s);
}

// The variant's operand for a sample with zero point zp (int8_rows.h):
// q - zp (pad 0), or q + 128 (pad zp + 128).
inline internal_s8::S16Operand S16For(std::int32_t zp) { return internal_s8::S16Operand{static_cast<std::int16_t>(zp)}; }
inline internal_s8::U8Operand U8For(std::int32_t zp) { return internal_s8::U8Operand(zp); }

// Raw GEMM of `rows` rows of A (lda) against columns [col0, col0 + cols) of
// one group's panels (col0 a multiple of 16) into acc[rows][cols].
inline void RawGemm(const detail::Int8GemmVariant& v, const PackedS8Weights& w, int grp, const void* a, Index lda,
                    int rows, Index col0, int cols, std::int32_t* acc) {
  QUALM_DCHECK(col0 % detail::kS8PanelCols == 0);
  const std::size_t c0 = static_cast<std::size_t>(col0);
  if (v.operands == detail::S8Operands::kU8S8) {
    const std::size_t panel_size =
        static_cast<std::size_t>(w.panels) * static_cast<std::size_t>(w.k_padded4) * detail::kS8PanelCols;
    detail::U8S8GemmTile t;
    t.a = static_cast<const std::uint8_t*>(a), t.lda = lda, t.m = rows;
    t.b = w.data_u8s8.data() + static_cast<std::size_t>(grp) * panel_size + c0 * static_cast<std::size_t>(w.k_padded4);
    t.col_offset = w.col_offset.data() + static_cast<std::size_t>(grp) * w.panels * detail::kS8PanelCols + c0;
    t.n = cols, t.k_padded = static_cast<int>(lda);
    t.y32 = acc, t.ldy = cols;
    v.gemm_u8s8(t);
  } else {
    const std::size_t panel_size =
        static_cast<std::size_t>(w.panels) * static_cast<std::size_t>(w.k_padded) * detail::kS8PanelCols;
    detail::S8GemmTile t;
    t.a = static_cast<const std::int16_t*>(a), t.lda = lda, t.m = rows;
    t.b = w.data.data() + static_cast<std::size_t>(grp) * panel_size + c0 * static_cast<std::size_t>(w.k_padded);
    t.n = cols, t.k_padded = static_cast<int>(lda);
    t.y32 = acc, t.ldy = cols;
    v.gemm(t);
  }
}

// One output row of n channels: y[c] = P(acc[c] - zp_corr * colsum[c], s_x,
// s_w[c]) + bias[c] (header comment); NaN for a non-finite sample. colsum,
// s_w and bias (nullable) start at the row's first channel.
inline void Epilogue(const std::int32_t* acc, int n, const SampleQuant& sq, std::int32_t zp_corr,
                     const std::int32_t* colsum, const float* s_w, const float* bias, float* y) {
  if (!sq.finite) {
    for (int c = 0; c < n; ++c) y[c] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  for (int c = 0; c < n; ++c) {
    const std::int64_t exact = std::int64_t{acc[c]} - std::int64_t{zp_corr} * colsum[c];
    QUALM_DCHECK(exact >= std::numeric_limits<std::int32_t>::min() && exact <= std::numeric_limits<std::int32_t>::max());
    const float v = HybridProduct(static_cast<std::int32_t>(exact), sq.scale, s_w[c]);
    y[c] = bias ? v + bias[c] : v;
  }
}

}  // namespace qualm::kernels::fast::internal_hybrid
