// qualm/kernels/detail/int8_gemm_variants.h: the per-ISA micro-kernels behind
// fast::conv2d_s8 / fast::dense_s8 (conv2d_s8.h, dense_s8.h, int8_gemm.h), exposed for tests and
// benchmarks only. Engine code calls the fast:: kernels.
//
// Naming (kernels/NAMING.md, XNNPACK-like): s8s16_gemm_4x16c2__avx2 = int8
// data widened to int16 operands, a GEMM tile of 4 rows x 16 columns, c2 = two
// reduction indices per 32-bit lane (one vpmaddwd), after "__" the ISA of the
// translation unit; s8s16_depthwise_16c__avx2 = 16 channels per step;
// s8u8_gemm_8x32c4__avx512vnni = int8 data taken as u8 operands (x + 128), up
// to 8 rows x 32 columns per step, c4 = four reduction indices per 32-bit lane
// (one vpdpbusd); s8u8_gemm_6x16c4__avxvnni the same on 256-bit registers,
// 6 rows x 16 columns. A variant's name is its GEMM function's symbol.
//
// A variant is two functions on plain structs, and says which operands its GEMM takes:
//   gemm       (S8Operands::kS16) one tile: y[m][n] = OutputStage(A[m][k_padded]
//              * panels + bias), A int16 rows (x - zp_in, padding taps 0),
//              panels as in PackedS8Weights::kPanels (one group's data);
//   gemm_u8s8  (S8Operands::kU8S8) one tile: y[m][n] = OutputStage(col_offset
//              + A[m][k_padded4] * panels + bias), A u8 rows (x + 128, padding
//              taps zp_in + 128), panels the int8 quads of PackedS8Weights
//              (data_u8s8) and col_offset = -(zp_in + 128) * sum_k w. Exact:
//              sum w (x + 128) - (zp_in + 128) sum w = sum w (x - zp_in), and
//              a padding tap contributes w (zp_in + 128) - (zp_in + 128) w = 0
//              (kernels/ARITHMETIC.md: bounds);
//   depthwise  output pixels [pix0, pix1) of a conv with in_c == out_c == groups,
//              weights as in PackedS8Weights::kDepthwise.
//   conv_u8s8  (kU8S8 variants only) the implicit-GEMM conv (U8S8ConvTile
//              below): conv2d_s8 without im2col, same operands and output stage.
// OutputStage is RequantizeToRange(acc + bias, requant[c], mode, zp_out,
// act_min, act_max), bit for bit, in every variant.
// Raw output (the hybrid kernels, dense_hybrid.h / conv2d_hybrid.h): when a
// tile's y32 is non-null, the GEMM stores the exact int32 accumulators
// (col_offset included for kU8S8; no bias, no requantization, `out` unused,
// y ignored) into y32[m][ldy] instead. The variants pick the raw or the
// requantizing loop once per call (a template flag), so neither pays for the other.
// A variant may only be called when its ISA is available (IsaAvailable).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/requant.h"

namespace qualm::kernels::detail {

constexpr int kS8PanelCols = 16;  // columns per packed panel (two AVX2 registers of int32)
constexpr int kS8TileRows = 4;    // rows per GEMM micro-tile (the s16 variants; row tiles are multiples of it)

// The operands a variant's GEMM takes (how conv2d_s8 / dense_s8 lay out A).
enum class S8Operands : std::uint8_t {
  kS16,   // int16 x - zp_in, int16 weight pairs (vpmaddwd / pmaddwd)
  kU8S8,  // u8 x + 128, int8 weight quads and a per-column correction (vpdpbusd)
};

// The per-column output stage, pointers offset to the tile's first column.
struct S8OutputStage {
  const Requant* requant = nullptr;   // [n]
  const std::int32_t* bias = nullptr; // [n] or null
  RequantMode mode = RequantMode::kGemmlowp;
  std::int32_t zp_out = 0, act_min = -128, act_max = 127;
};

struct S8GemmTile {
  const std::int16_t* a = nullptr;  // [m][lda], the first k_padded entries of a row used
  std::int64_t lda = 0;
  int m = 0;
  const std::int16_t* b = nullptr;  // one group's panels: [ceil(n/16)][k_padded/2][16][2]
  int n = 0;
  int k_padded = 0;  // even
  S8OutputStage out;
  std::int8_t* y = nullptr;  // [m][ldy], first n columns written
  std::int64_t ldy = 0;
  std::int32_t* y32 = nullptr;  // non-null: raw accumulators [m][ldy] instead of y (see above)
};

struct U8S8GemmTile {
  const std::uint8_t* a = nullptr;  // [m][lda] u8, the first k_padded entries of a row used
  std::int64_t lda = 0;
  int m = 0;
  const std::int8_t* b = nullptr;            // one group's panels: [ceil(n/16)][k_padded/4][16][4]
  const std::int32_t* col_offset = nullptr;  // [ceil(n/16) * 16]: the accumulators' start values
  int n = 0;
  int k_padded = 0;  // multiple of 4
  S8OutputStage out;
  std::int8_t* y = nullptr;  // [m][ldy], first n columns written
  std::int64_t ldy = 0;
  std::int32_t* y32 = nullptr;  // non-null: raw accumulators [m][ldy] instead of y (see above)
};

struct S8DepthwiseTile {
  const Conv2dParams* shape = nullptr;  // in_c == out_c == groups
  std::int32_t zp_in = 0;
  const std::int16_t* w = nullptr;  // [kernel_h * kernel_w][channels_padded]
  int channels_padded = 0;
  const std::int8_t* x = nullptr;  // NHWC
  S8OutputStage out;               // whole out_c
  std::int8_t* y = nullptr;        // NHWC
  std::int64_t pix0 = 0, pix1 = 0; // output pixels in [0, batch * out_h * out_w)
};

// The implicit-GEMM (direct) conv of the u8 x s8 variants (fast/conv2d_s8_direct.h:
// conv2d_s8 with one group and in_c >= 2). Row r of the GEMM is output pixel
// r, and its operand row is read in place, with no im2col: quad q (4 bytes of
// a run of contiguous K, fast/conv2d_s8_direct.h's DirectRuns, in the packed
// weights' order) is the 4 bytes at rows[r] + koff[q] of a u8 copy of the
// input (x + 128) whose padding holds zp_in + 128, exactly what
// U8S8GemmTile's im2col rows hold, so col_offset corrects it the same way
// and the sums are the same. With signed_rows the rows point into the int8
// input itself (a conv without padding) and the kernel flips each quad's top
// bits (x ^ 0x80 = x + 128) after loading it: the same u8 operands, no copy.
//   y[r][c] = OutputStage(col_offset[c] + sum_q <u8 quad q of row r, weight quad q of c> + bias[c])
struct U8S8ConvTile {
  const std::uint8_t* const* rows = nullptr;  // [m]: where each output pixel's receptive field starts
  int m = 0;
  const std::int32_t* koff = nullptr;  // [quads]: byte offset of quad q from a row's start
  int quads = 0;                       // K / 4
  const std::int8_t* b = nullptr;            // panels as U8S8GemmTile::b with k_padded = 4 * quads
  const std::int32_t* col_offset = nullptr;  // [ceil(n/16) * 16]
  int n = 0;
  S8OutputStage out;
  std::int8_t* y = nullptr;  // [m][ldy], first n columns written
  std::int64_t ldy = 0;
  bool signed_rows = false;  // rows hold int8 x: each quad is flipped to x + 128 when read
};

using S8GemmFn = void (*)(const S8GemmTile& t);
using U8S8GemmFn = void (*)(const U8S8GemmTile& t);
using S8DepthwiseFn = void (*)(const S8DepthwiseTile& t);
using U8S8ConvFn = void (*)(const U8S8ConvTile& t);

// x86-64 baseline (SSE2): one row x 16 columns per step, scalar RequantizeToRange;
// depthwise one channel at a time.
void s8s16_gemm_1x16c2__generic(const S8GemmTile& t);
void s8s16_depthwise_1c__generic(const S8DepthwiseTile& t);
// AVX2: 4 rows x 16 columns (vpmaddwd), vectorized output stage; depthwise 16
// channels at a time.
void s8s16_gemm_4x16c2__avx2(const S8GemmTile& t);
void s8s16_depthwise_16c__avx2(const S8DepthwiseTile& t);
// AVX-512 VNNI: up to 8 rows x 32 columns (two 16-column panels) of vpdpbusd
// (u8 x s8 -> int32, the non-saturating form), a 512-bit output stage
// (fast/int8_gemm_avx512.h); depthwise is s8s16_depthwise_16c__avx2.
void s8u8_gemm_8x32c4__avx512vnni(const U8S8GemmTile& t);
// AVX-VNNI (256-bit VEX vpdpbusd, for CPUs with VNNI but no AVX-512): the same
// operands and panels, up to 6 rows x 16 columns; depthwise is
// s8s16_depthwise_16c__avx2.
void s8u8_gemm_6x16c4__avxvnni(const U8S8GemmTile& t);
// The implicit-GEMM conv (U8S8ConvTile) of each: AVX-512 VNNI micro-tiles of
// 24 accumulators (24 rows x 16 columns for the 16-channel layers, 12 x 32,
// 6 x 64); AVX-VNNI 6 rows x 16 columns.
void s8u8_igemm_24x16c4__avx512vnni(const U8S8ConvTile& t);
void s8u8_igemm_6x16c4__avxvnni(const U8S8ConvTile& t);

struct Int8GemmVariant {
  Isa isa;
  const char* name;
  S8Operands operands;
  S8GemmFn gemm;            // kS16 variants, else null
  U8S8GemmFn gemm_u8s8;     // kU8S8 variants, else null
  S8DepthwiseFn depthwise;
  U8S8ConvFn conv_u8s8;  // the implicit-GEMM conv (kU8S8 variants), else null
  const char* conv_name; // its symbol, or null
};

// Best first, ending with the baseline; the dispatcher takes the first whose ISA is available.
const std::vector<Int8GemmVariant>& Int8GemmVariants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<Int8GemmVariant> RunnableInt8GemmVariants();
// Whether a runnable variant takes u8 x s8 operands (then the weight packing
// also makes PackedS8Weights::data_u8s8 and col_offset).
bool RunnableInt8GemmUsesU8S8();
// The variant the fast kernels call now (the dispatcher's choice, or the test override).
const Int8GemmVariant& ActiveInt8GemmVariant();
// "s8u8_gemm_8x32c4__avx512vnni: chosen; s8s16_gemm_4x16c2__avx2: not needed; ..." and the like.
std::string DescribeInt8GemmDispatch();

// Test-only hook: while alive, the fast int8 kernels run the variant for `isa`
// instead of the dispatcher's choice (QUALM_ISA is read once per process, so
// this is how one test process covers every path). ok() is false, and nothing
// changes, if no variant for `isa` exists or the ISA is not available.
// Not thread-safe with concurrent kernel callers; meant for tests.
class ScopedInt8GemmIsaForTesting {
 public:
  explicit ScopedInt8GemmIsaForTesting(Isa isa);
  ~ScopedInt8GemmIsaForTesting();
  ScopedInt8GemmIsaForTesting(const ScopedInt8GemmIsaForTesting&) = delete;
  ScopedInt8GemmIsaForTesting& operator=(const ScopedInt8GemmIsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const Int8GemmVariant* previous_ = nullptr;
};

}  // namespace qualm::kernels::detail
