// fast/int8_rows.h (private): what the fast int8 conv2d and dense share: how
// they cut the rows of their GEMM (output pixels, or batch rows) into tiles and
// threads, how big each thread's int16 operand buffer is (shared so that the
// scratch size functions and the kernels can never disagree), and the
// micro-kernels' view of the prepared output stage.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/context.h"

namespace qualm::kernels::fast::internal_s8 {

using Index = std::int64_t;

// The micro-kernels' view of a prepared output stage (all channels).
inline detail::S8OutputStage MakeOutputStage(const PreparedOutputQuantS8& o, const std::int32_t* bias) {
  detail::S8OutputStage s;
  s.requant = o.requant.data();
  s.bias = bias;
  s.mode = o.mode;
  s.zp_out = o.zero_point;
  s.act_min = o.act_min;
  s.act_max = o.act_max;
  return s;
}

// About 128 KB of int16 operands per tile: with one 16-column weight panel
// (k_padded * 64 bytes, in L1 for the study's K) the tile stays in L2.
constexpr Index kTileInt16 = 64 * 1024;

// Rows per tile for m rows on `threads` threads: at most the cache cap, and
// small enough that every thread gets a tile. Monotone in m, so the scratch
// sized for the largest batch covers every smaller one.
inline Index TileRows(Index m, Index k_padded, int threads) {
  const Index r = detail::kS8TileRows;
  const Index cap = std::max(r, kTileInt16 / std::max<Index>(k_padded, 1) / r * r);
  const Index per_thread = (m + std::max(threads, 1) - 1) / std::max(threads, 1);
  return std::max<Index>(1, std::min(cap, (per_thread + r - 1) / r * r));
}

// How a variant's A operand is made from int8 activations
// (detail::S8Operands): Convert writes n converted values, and `pad` is what a
// padding tap holds (the value whose product with any weight contributes what
// the reference's skipped tap does: nothing).
struct S16Operand {  // x - zp_in as int16 (|.| <= 255); padding 0
  using T = std::int16_t;
  std::int16_t zp = 0;
  T pad = 0;
  void Convert(const std::int8_t* s, Index n, T* d) const {
    for (Index i = 0; i < n; ++i) d[i] = static_cast<T>(s[i] - zp);
  }
};
struct U8Operand {  // x + 128 as u8 (the int8 bits with the top bit flipped); padding zp_in + 128
  using T = std::uint8_t;
  T pad = 0;
  explicit U8Operand(std::int32_t zp_in) : pad(static_cast<T>(zp_in + 128)) {}
  void Convert(const std::int8_t* s, Index n, T* d) const {
    for (Index i = 0; i < n; ++i) d[i] = static_cast<T>(static_cast<std::uint8_t>(s[i]) ^ 0x80u);
  }
};

// The row length of A for a reduction of k: pairs (int16) or quads (u8).
inline Index RowLength(detail::S8Operands o, Index k) {
  return o == detail::S8Operands::kU8S8 ? (k + 3) / 4 * 4 : k + (k & 1);
}

// One thread's buffer, rounded to 64 bytes so threads never share a line.
inline std::size_t ThreadStride(Index m, Index k_padded, int threads) {
  const Index n = TileRows(m, k_padded, threads) * k_padded;
  return static_cast<std::size_t>((n + 31) / 32 * 32);
}

inline std::size_t ScratchInt16(Index m, Index k_padded, int threads) {
  return ThreadStride(m, k_padded, threads) * static_cast<std::size_t>(std::max(threads, 1));
}

// The sizes above are in int16 for the k_padded (pairs) rows of the s16
// operands. A u8 row of the same tile takes (k + 3) / 4 * 4 <= 2 * k_padded
// bytes (k_padded >= 2), so the same buffer, read as bytes, holds it.
template <typename Operand>
typename Operand::T* ThreadBuffer(std::int16_t* scratch, std::size_t stride, int tid) {
  return reinterpret_cast<typename Operand::T*>(scratch + static_cast<std::size_t>(tid) * stride);
}

// The fixed work partition of a GEMM of m rows x n columns (reduction k) on
// `threads` threads: row tiles of `tile` rows (TileRows), and, only when
// there are fewer row tiles than threads (a batch of one, a few output
// pixels), each row tile cut into column blocks of whole 16-column panels
// (an even number of them when possible, so the AVX-512 variant keeps its
// 32-column steps), as many as the threads need but each at least
// kMinBlockMacs multiply-adds, below which a fork costs more than it saves.
// Any partition gives the same bits: every output is one exact integer sum
// and one output stage, computed by whichever thread owns it; the partition
// only decides who computes what.
constexpr Index kMinBlockMacs = Index{1} << 18;

struct TileGrid {
  Index m = 0, n = 0, tile = 1;
  double work = 0;       // m * n * k multiply-adds: how many threads are worth a fork (ThreadsForWork)
  Index row_tiles = 0;
  Index block_cols = 0;  // columns per block (a multiple of 16, or n)
  Index col_blocks = 1;
  Index items() const { return row_tiles * col_blocks; }
};

inline TileGrid MakeTileGrid(Index m, Index n, Index k, Index tile, int threads) {
  TileGrid g;
  g.m = m, g.n = n, g.tile = tile;
  g.work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  g.row_tiles = (m + tile - 1) / tile;
  g.block_cols = n;
  const Index nt = std::max(threads, 1);
  if (g.row_tiles >= nt || n <= detail::kS8PanelCols) return g;
  const Index panels = (n + detail::kS8PanelCols - 1) / detail::kS8PanelCols;
  const Index tile_macs = std::min(tile, m) * k * n;  // one row tile, all columns
  Index blocks = std::min<Index>({(nt + g.row_tiles - 1) / g.row_tiles, panels,
                                  std::max<Index>(1, tile_macs / kMinBlockMacs)});
  if (blocks <= 1) return g;
  Index per = (panels + blocks - 1) / blocks;
  if (per > 1 && per % 2) ++per;  // keep 32-column steps whole
  g.block_cols = per * detail::kS8PanelCols;
  g.col_blocks = (n + g.block_cols - 1) / g.block_cols;
  return g;
}

// body(tid, row0, rows, col0, cols, new_rows) over the grid's items (row tile
// major); thread tid (< threads) takes a contiguous run of items. new_rows is
// false when the thread's previous item had the same row tile (its converted
// A rows can be reused).
template <typename Body>
void ForTiles(const TileGrid& g, int threads, const Body& body) {
  const Index count = g.items();
  const int nt = static_cast<int>(std::min<Index>(ThreadsForWork(threads, g.work), count));
  auto run = [&](int tid, Index first, Index end) {
    for (Index i = first; i < end; ++i) {
      const Index rt = i / g.col_blocks, cb = i % g.col_blocks;
      const Index row0 = rt * g.tile, col0 = cb * g.block_cols;
      const bool new_rows = i == first || cb == 0;
      body(tid, row0, std::min(g.tile, g.m - row0), col0, std::min(g.block_cols, g.n - col0), new_rows);
    }
  };
  if (nt <= 1) {
    run(0, 0, count);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid) run(tid, count * tid / nt, count * (tid + 1) / nt);
}

}  // namespace qualm::kernels::fast::internal_s8
