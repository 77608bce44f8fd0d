// qualm/kernels/detail/conv_c1_variants.h: the one-input-channel conv paths
// behind fast::conv2d_s8 and fast::conv2d_f32 (convs with in_c == 1 and
// groups == 1: LeNet conv1, the ResNet-20 / NiN stems), exposed for tests and
// benchmarks only. Engine code calls the fast:: kernels.
//
// Why a path of its own: the GEMM under the general conv spreads its vector
// lanes over output channels, so a 6-channel conv leaves 10 of 16 lanes idle,
// and its reduction (K = kernel_h * kernel_w, 9 or 25) is too short to
// amortize anything. Here the lanes span OUTPUT PIXELS instead: a block of
// kConvC1Pixels pixels is gathered tap by tap into a transposed im2col in
// scratch (lane = pixel), and each output channel's weights are broadcast.
//
// Contracts (each variant, every ISA and thread count):
//  * int8 (ConvS8C1Tile): the u8 x s8 operands of the VNNI GEMM variants
//    (int8_gemm_variants.h, S8Operands::kU8S8): a tap holds x + 128, a padding
//    tap zp_in + 128, and channel c's accumulators start at col_offset[c], so
//    the int32 sums are the reference's exactly; then RequantizeToRange on
//    16 lanes of one channel (tested value by value against the scalar one).
//    Bit-exact to ref::conv2d_s8.
//  * float (ConvF32C1Tile): each output is the SAME operation sequence as the
//    im2col + gemm_f32 path it replaces (gemm.h's determinism contract):
//    acc = +0, then acc = fma(col[k], w[c][k], acc) for k = 0 .. K-1 in
//    (ky, kx) order, padding taps included as 0.0f; then y = acc (alpha 1,
//    beta 0), then y + bias[c] if there is a bias. So the bits equal the
//    general path's on every ISA and thread count.
#pragma once

#include <cstdint>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {

constexpr int kConvC1Pixels = 64;    // output pixels per block (4 zmm / 8 ymm of lanes)
constexpr int kConvC1Channels = 32;  // output channels per chunk (bounds the per-thread output buffer)

// Whether a conv takes the one-channel path at all (the variant may still be absent for the active ISA).
inline bool IsConvC1(const Conv2dParams& p) { return p.in_c == 1 && p.groups == 1; }

// Stride-1 convs read their taps from a padded copy of the input rows
// (fast/conv_c1_taps.h): at most in_h + pad_top + pad_bottom rows of in_w +
// pad_left + pad_right elements, and kConvC1Pixels more for the last block.
inline std::int64_t ConvC1PaddedElements(const Conv2dParams& p) {
  if (p.stride_h != 1 || p.stride_w != 1) return 0;
  return (std::int64_t{p.in_h} + p.pad_top + p.pad_bottom) * (std::int64_t{p.in_w} + p.pad_left + p.pad_right) +
         kConvC1Pixels;
}

// Per-thread scratch of the int8 path, in bytes: the u8 quads of one block
// ([k_padded4 / 4][kConvC1Pixels][4]), one chunk of int8 results
// ([kConvC1Channels][kConvC1Pixels]) and the padded rows (u8).
inline std::int64_t ConvS8C1ScratchBytes(const Conv2dParams& p) {
  const std::int64_t k_padded4 = (std::int64_t{p.kernel_h} * p.kernel_w + 3) / 4 * 4;
  return k_padded4 * kConvC1Pixels + std::int64_t{kConvC1Channels} * kConvC1Pixels + ConvC1PaddedElements(p);
}
// Per-thread scratch of the float path, in floats: [K][kConvC1Pixels] taps
// (strided convs), [kConvC1Channels][kConvC1Pixels] results, the padded rows.
inline std::int64_t ConvF32C1ScratchFloats(const Conv2dParams& p) {
  return std::int64_t{p.kernel_h} * p.kernel_w * kConvC1Pixels + std::int64_t{kConvC1Channels} * kConvC1Pixels +
         ConvC1PaddedElements(p);
}

// Output pixels [pix0, pix1) (of batch * out_h * out_w) of a one-channel int8 conv.
struct ConvS8C1Tile {
  const Conv2dParams* shape = nullptr;  // in_c == 1, groups == 1
  std::int32_t zp_in = 0;
  const std::int8_t* w = nullptr;            // PackedS8Weights::data_u8s8 (one group): [panels][k_padded4/4][16][4]
  int k_padded4 = 0;
  const std::int32_t* col_offset = nullptr;  // [out_c]
  S8OutputStage out;                         // all out_c channels
  const std::int8_t* x = nullptr;            // NHWC, C = 1
  std::int8_t* y = nullptr;                  // NHWC
  std::int64_t pix0 = 0, pix1 = 0;
  std::uint8_t* scratch = nullptr;  // ConvS8C1ScratchBytes(*shape)
};

// Output pixels [pix0, pix1) of a one-channel float conv.
struct ConvF32C1Tile {
  const Conv2dParams* shape = nullptr;  // in_c == 1, groups == 1
  const float* w = nullptr;             // OHWI = [out_c][K]
  const float* bias = nullptr;          // [out_c] or null
  const float* x = nullptr;             // NHWC, C = 1
  float* y = nullptr;                   // NHWC
  std::int64_t pix0 = 0, pix1 = 0;
  float* scratch = nullptr;  // ConvF32C1ScratchFloats(*shape)
};

using ConvS8C1Fn = void (*)(const ConvS8C1Tile& t);
using ConvF32C1Fn = void (*)(const ConvF32C1Tile& t);

// Names: <op>_c1_<pixels per block>p__<isa> (kernels/NAMING.md).
void conv_s8u8_c1_64p__avx512vnni(const ConvS8C1Tile& t);  // 4 zmm of 16 pixels, vpdpbusd
// Its output stage alone, for tests: y[j] = RequantizeToRange(acc[j] + bias[c]
// (int32, wrapping), out.requant[c], ...) for j < 16, bias 0 when null.
void conv_s8_c1_requant_16__avx512vnni(const std::int32_t* acc, const S8OutputStage& out, int c, std::int8_t* y);
void conv_s8u8_c1_64p__avxvnni(const ConvS8C1Tile& t);    // 8 ymm of 8 pixels, VEX vpdpbusd, AVX2 output stage
void conv_f32_c1_64p__avx512(const ConvF32C1Tile& t);      // 4 zmm of 16 pixels, vfmadd
void conv_f32_c1_64p__avx2(const ConvF32C1Tile& t);        // 8 ymm of 8 pixels, vfmadd

// The one-channel kernel the fast path runs now for the active int8 GEMM
// variant (null: that variant has none, the general path runs), and its name.
ConvS8C1Fn ActiveConvS8C1();
const char* ConvS8C1PathName();  // "none" when null
// The same for the float path, following the active gemm_f32 variant.
ConvF32C1Fn ActiveConvF32C1();
const char* ConvF32C1PathName();

// Test-only hook: while alive, the fast convs never take the one-channel path
// (so a test can compare it with the general im2col + GEMM path it replaces).
class ScopedConvC1OffForTesting {
 public:
  ScopedConvC1OffForTesting();
  ~ScopedConvC1OffForTesting();
  ScopedConvC1OffForTesting(const ScopedConvC1OffForTesting&) = delete;
  ScopedConvC1OffForTesting& operator=(const ScopedConvC1OffForTesting&) = delete;

 private:
  bool previous_ = false;
};
bool ConvC1DisabledForTesting();

}  // namespace qualm::kernels::detail
