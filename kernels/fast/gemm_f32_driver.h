// fast/gemm_f32_driver.h: the blocking, packing and threading around a float
// GEMM micro-kernel, included by each per-ISA TU (gemm_f32_*.cpp) after it
// defines its micro-kernel class K:
//   K::kMr, K::kNr        rows and columns of a register tile
//   K::kMc                rows sharing one packed block of B (a multiple of kMr, <= kMcMax)
//   K::Run<kTransA>(tile) one Tile (gemm_f32_tile.h); kTransA means a_row == 1
//   K::RunRow(row_tile)   one RowTile: one row of A against up to kRowPanels panels
// Everything here is in an anonymous namespace, so each TU keeps its own copy
// compiled with its own flags (no ODR clash between ISAs).
//
// Loops (Goto-style, A read in place):
//   for each kNc block of columns: for each kMc block of rows: for each kKc block of k:
//     pack op(B)[k block][column block] into kKc x kNr panels (zero-padded columns)
//     for each kMr row tile: for each panel: K::Run
// B is packed once per column block when K fits one block (the common case:
// conv and dense forward), else once per (row block, k block). A row tile
// shorter than kMr is copied, zero-padded, into Scratch::apack so the
// micro-kernel always reads kMr rows.
//
// Threads split the rows (or the columns, whichever is larger) into contiguous
// blocks; each output element is computed entirely by one thread, in the same
// order as with one thread, so the split cannot change any bit.
#pragma once

#include <algorithm>
#include <cstddef>

#include "fast/gemm_f32_pack.h"
#include "fast/gemm_f32_tile.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/gemm.h"
#include "qualm/status.h"

namespace qualm::kernels::detail::gemm_f32_internal {
namespace {

using Index = std::ptrdiff_t;

// C = alpha * 0 (+ beta * C): K == 0 or alpha == 0, where BLAS does not read A or B.
// The same epilogue arithmetic as the micro-kernels, on acc = 0.
void ScaleOnly(const GemmParams& p, float* c) {
  for (Index i = 0; i < p.m; ++i) {
    float* row = c + i * p.ldc;
    for (Index j = 0; j < p.n; ++j) {
      float r = 0.0f;
      if (p.alpha != 1.0f) r = p.alpha * r;
      if (p.beta == 0.0f) row[j] = r;
      else if (p.beta == 1.0f) row[j] = row[j] + r;
      else row[j] = p.beta * row[j] + r;
    }
  }
}

// Prepacked op(B) (gemm.h, PackGemmB), when packed for this variant: column
// block n0 starts at n0 * K (every earlier block is kNc columns of K rows),
// its k block k0 at panels * k0 * kNr (every earlier k block is kKc rows).
template <class K>
const float* PrepackedBlock(const GemmParams& p, Index n0, int nc, Index k0) {
  if (p.b_packed == nullptr || p.b_packed_nr != K::kNr) return nullptr;
  return p.b_packed + n0 * p.k + static_cast<Index>((nc + K::kNr - 1) / K::kNr) * k0 * K::kNr;
}

// Few rows (M <= kMr / 2): each row on its own through K::RunRow, kRowPanels
// panels per call, instead of a kMr-row tile whose other rows would be zero
// padding (copied into apack, then multiplied). Same blocking and packing as
// GemmSerial, so each output is the same FMA chain: the same bits.
template <class K>
void GemmRows(const GemmParams& p, const float* a, const float* b, float* c) {
  Scratch& s = ThreadScratch();
  for (Index n0 = 0; n0 < p.n; n0 += kNc) {
    const int nc = static_cast<int>(std::min<Index>(kNc, p.n - n0));
    const int panels = (nc + K::kNr - 1) / K::kNr;
    for (Index k0 = 0; k0 < p.k; k0 += kKc) {
      const int kc = static_cast<int>(std::min<Index>(kKc, p.k - k0));
      const float* bpack = PrepackedBlock<K>(p, n0, nc, k0);
      if (bpack == nullptr) {
        PackB<K::kNr>(p, b, k0, kc, n0, nc, s.bpack);
        bpack = s.bpack;
      }
      for (Index i = 0; i < p.m; ++i) {
        RowTile t;
        if (!p.trans_a) t.a = a + i * p.lda + k0, t.a_k = 1;
        else t.a = a + k0 * p.lda + i, t.a_k = p.lda;
        t.panel_stride = static_cast<Index>(kc) * K::kNr;
        t.kc = kc, t.load_acc = k0 > 0, t.last = k0 + kc == p.k;
        t.alpha = p.alpha, t.beta = p.beta;
        for (int p0 = 0; p0 < panels; p0 += kRowPanels) {
          const int j0 = p0 * K::kNr;
          t.b = bpack + p0 * t.panel_stride;
          t.panels = std::min(kRowPanels, panels - p0);
          t.nr = std::min(kRowPanels * K::kNr, nc - j0);
          t.acc = s.acc + i * kNc + j0;
          t.c = c + i * p.ldc + n0 + j0;
          K::RunRow(t);
        }
      }
    }
  }
}

template <class K>
void GemmSerial(const GemmParams& p, const float* a, const float* b, float* c) {
  static_assert(K::kMr <= kMrMax && K::kMc <= kMcMax && K::kMc % K::kMr == 0 && kNc % K::kNr == 0);
  static_assert(kMrMax / 2 <= kMcMax);  // GemmRows keeps a row's accumulators in acc
  if (p.m <= K::kMr / 2) {
    GemmRows<K>(p, a, b, c);
    return;
  }
  Scratch& s = ThreadScratch();
  const bool one_k = p.k <= kKc;
  for (Index n0 = 0; n0 < p.n; n0 += kNc) {
    const int nc = static_cast<int>(std::min<Index>(kNc, p.n - n0));
    for (Index m0 = 0; m0 < p.m; m0 += K::kMc) {
      const int mc = static_cast<int>(std::min<Index>(K::kMc, p.m - m0));
      for (Index k0 = 0; k0 < p.k; k0 += kKc) {
        const int kc = static_cast<int>(std::min<Index>(kKc, p.k - k0));
        const float* bpack = PrepackedBlock<K>(p, n0, nc, k0);
        if (bpack == nullptr) {
          bpack = s.bpack;
          if (!one_k || m0 == 0) PackB<K::kNr>(p, b, k0, kc, n0, nc, s.bpack);
        }
        for (int i = 0; i < mc; i += K::kMr) {
          const Index i0 = m0 + i;
          const int mr = std::min(K::kMr, mc - i);
          Tile t;
          t.kc = kc, t.mr = mr;
          t.ld_acc = kNc, t.load_acc = k0 > 0, t.last = k0 + kc == p.k;
          t.ldc = p.ldc, t.alpha = p.alpha, t.beta = p.beta;
          bool trans_a = p.trans_a;
          if (!p.trans_a) t.a = a + i0 * p.lda + k0, t.a_row = p.lda, t.a_k = 1;
          else t.a = a + k0 * p.lda + i0, t.a_row = 1, t.a_k = p.lda;
          if (mr < K::kMr) {
            // Rows past the tile read as zero; their results are never stored.
            for (int q = 0; q < kc; ++q)
              for (int r = 0; r < K::kMr; ++r)
                s.apack[q * K::kMr + r] = r < mr ? t.a[r * t.a_row + q * t.a_k] : 0.0f;
            t.a = s.apack, t.a_row = 1, t.a_k = K::kMr, trans_a = true;
          }
          for (int j0 = 0; j0 < nc; j0 += K::kNr) {
            t.b = bpack + static_cast<Index>(j0 / K::kNr) * kc * K::kNr;
            t.nr = std::min(K::kNr, nc - j0);
            t.acc = s.acc + static_cast<Index>(i) * kNc + j0;
            t.c = c + i0 * p.ldc + n0 + j0;
            if (trans_a) K::template Run<true>(t);
            else K::template Run<false>(t);
          }
        }
      }
    }
  }
}

constexpr int kSplitAlign = 32;

template <class K>
void Gemm(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  QUALM_DCHECK(p.m >= 0 && p.n >= 0 && p.k >= 0);
  QUALM_DCHECK(p.ldc >= p.n);
  QUALM_DCHECK(p.lda >= (p.trans_a ? p.m : p.k) && p.ldb >= (p.trans_b ? p.k : p.n));
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0 || p.alpha == 0.0f) {
    ScaleOnly(p, c);
    return;
  }
  const double macs = static_cast<double>(p.m) * p.n * p.k;
  const bool split_m = p.m >= p.n;
  const int extent = split_m ? p.m : p.n;
  // Small products on fewer threads (context.h, ThreadsForWork); a block
  // must keep at least kSplitAlign rows or columns.
  int blocks = ThreadsForWork(threads, macs);
  while (blocks > 1 && extent < blocks * kSplitAlign) --blocks;
  if (blocks == 1) {
    GemmSerial<K>(p, a, b, c);
    return;
  }
  // Block i covers [edge(i), edge(i + 1)), edges rounded down to kSplitAlign.
  auto edge = [&](int i) {
    if (i == blocks) return extent;
    const long long e = static_cast<long long>(extent) * i / blocks;
    return static_cast<int>(e - e % kSplitAlign);
  };
#pragma omp parallel for num_threads(blocks) schedule(static, 1)
  for (int i = 0; i < blocks; ++i) {
    const int lo = edge(i), hi = edge(i + 1);
    GemmParams q = p;
    if (split_m) {
      q.m = hi - lo;
      GemmSerial<K>(q, p.trans_a ? a + lo : a + static_cast<Index>(lo) * p.lda, b,
                    c + static_cast<Index>(lo) * p.ldc);
    } else {
      q.n = hi - lo;
      q.b_packed = nullptr;  // its column blocks start at 0, not at lo: pack [lo, hi) as usual
      GemmSerial<K>(q, a, p.trans_b ? b + static_cast<Index>(lo) * p.ldb : b + lo, c + lo);
    }
  }
}

}  // namespace
}  // namespace qualm::kernels::detail::gemm_f32_internal
