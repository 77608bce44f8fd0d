// qualm/kernels/detail/int8_gemm_variants.h: the per-ISA micro-kernels behind
// fast::conv2d_s8 / fast::dense_s8 (conv2d_s8.h, dense_s8.h, int8_gemm.h), exposed for tests and
// benchmarks only. Engine code calls the fast:: kernels.
//
// Naming (kernels/NAMING.md, XNNPACK-like): s8s16_gemm_4x16c2__avx2 = int8
// data widened to int16 operands, a GEMM tile of 4 rows x 16 columns, c2 = two
// reduction indices per 32-bit lane (one vpmaddwd), after "__" the ISA of the
// translation unit; s8s16_depthwise_16c__avx2 = 16 channels per step. A
// variant's name is its GEMM function's symbol.
//
// A variant is two functions on plain structs:
//   gemm       one tile: y[m][n] = OutputStage(A[m][k_padded] * panels + bias),
//              A int16 rows (x - zp_in, padding taps 0), panels as in
//              PackedS8Weights::kPanels (one group's);
//   depthwise  output pixels [pix0, pix1) of a conv with in_c == out_c == groups,
//              weights as in PackedS8Weights::kDepthwise.
// OutputStage is RequantizeToRange(acc + bias, requant[c], mode, zp_out,
// act_min, act_max), bit for bit, in every variant.
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
constexpr int kS8TileRows = 4;    // rows per GEMM micro-tile

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

using S8GemmFn = void (*)(const S8GemmTile& t);
using S8DepthwiseFn = void (*)(const S8DepthwiseTile& t);

// x86-64 baseline (SSE2): one row x 16 columns per step, scalar RequantizeToRange;
// depthwise one channel at a time.
void s8s16_gemm_1x16c2__generic(const S8GemmTile& t);
void s8s16_depthwise_1c__generic(const S8DepthwiseTile& t);
// AVX2: 4 rows x 16 columns (vpmaddwd), vectorized output stage; depthwise 16
// channels at a time.
void s8s16_gemm_4x16c2__avx2(const S8GemmTile& t);
void s8s16_depthwise_16c__avx2(const S8DepthwiseTile& t);

struct Int8GemmVariant {
  Isa isa;
  const char* name;
  S8GemmFn gemm;
  S8DepthwiseFn depthwise;
};

// Best first, ending with the baseline; the dispatcher takes the first whose ISA is available.
const std::vector<Int8GemmVariant>& Int8GemmVariants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<Int8GemmVariant> RunnableInt8GemmVariants();
// The variant the fast kernels call now (the dispatcher's choice, or the test override).
const Int8GemmVariant& ActiveInt8GemmVariant();
// "s8s16_gemm_4x16c2__avx2: chosen; s8s16_gemm_1x16c2__generic: not needed" and the like.
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
