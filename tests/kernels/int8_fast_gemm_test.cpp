// The int8 GEMM variants' micro-kernels (detail/int8_gemm_variants.h), each
// through its own entry point, on every variant this machine can run, bit for
// bit (==). The first test case prints which variants ran here and which were
// skipped (ISA not available, or capped by QUALM_ISA).
//  * The output stage alone, through each variant's GEMM and depthwise entry
//    points with activations equal to the zero point, so that every output is
//    RequantizeToRange(bias[c], requant[c], ...) of a chosen accumulator:
//    every shift -31..30, edge multipliers, flushed ones, ties of every right
//    shift, INT32_MIN / INT32_MAX, random full-range values, all three modes,
//    zero points at both ends and several activation ranges (the points:
//    StageCases in int8_fast_util.h). This is the proof that the AVX2 output
//    stage (fast/int8_gemm_avx2.h) and the 512-bit one of the AVX-512 VNNI
//    GEMM (fast/int8_gemm_avx512.h) are RequantizeToRange; the implicit-GEMM
//    conv kernels get the same points in int8_direct_conv_test.cpp.
//  * GEMM tiles against an int64 sum, operands laid out here from the
//    contract (int16 pairs, or u8 rows with int8 quads and the column
//    correction), every row tail, reduction and column tails; operands and
//    outputs end at an inaccessible page.
//  * Dispatch: the chosen name, the test hook, QUALM_ISA-capped choices.
// conv2d_s8 / dense_s8 end to end: int8_fast_test.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/int8_fast_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

using namespace int8_fast_test;

namespace {

TEST_CASE("int8 fast variants: which this machine runs") {
  // Printed, not only asserted: a machine without AVX-512 VNNI passes every
  // test below without running that variant, and the log must say so.
  for (const auto& v : qd::Int8GemmVariants()) {
    const bool runs = qk::IsaAvailable(v.isa);
    std::printf("int8 gemm variant %-30s %s\n", v.name,
                runs ? "RUN" : (std::string("SKIPPED (needs ") + qk::IsaName(v.isa) + "; " + qk::DescribeCpu() + ")").c_str());
    const bool has_gemm = v.operands == qd::S8Operands::kU8S8 ? v.gemm_u8s8 != nullptr : v.gemm != nullptr;
    const bool has_depthwise = v.depthwise != nullptr;
    CHECK(has_gemm);
    CHECK(has_depthwise);
  }
  CHECK(qd::RunnableInt8GemmVariants().size() >= 1);
}

// One GEMM tile through variant v's own entry point, from logical operands:
// d[m][k] = x - zp_in (|.| <= 255), w[n][k] in [-127, 127]. The operands are laid
// out here, independently of the library's packing, as the variant's contract
// says (int8_gemm_variants.h): int16 pairs for kS16; for kU8S8 u8 rows
// u = d + z (every u must be in [0, 255]), int8 quads and col_offset = -z sum w.
// A, B, col_offset and y each end at an inaccessible page.
struct LogicalTile {
  int m = 0, n = 0, k = 0, z = 0;
  std::vector<std::int16_t> d;
  std::vector<std::int8_t> w;
};

// With raw non-null the tile runs in raw mode (the tile's y32): raw gets the
// m x n accumulators, stored with ldy = n + 3 into a buffer pre-filled with a
// sentinel that must survive in the 3 gap columns of every row (a masked tail
// store may not write past column n).
constexpr std::int32_t kRawSentinel = 0x5A5A5A5A;
constexpr int kRawGap = 3;

void RunTile(const qd::Int8GemmVariant& v, const LogicalTile& l, const qd::S8OutputStage& out, std::int8_t* y_out,
             std::vector<std::int32_t>* raw = nullptr) {
  const int panels = (l.n + qd::kS8PanelCols - 1) / qd::kS8PanelCols;
  Guarded<std::int8_t> y(static_cast<std::size_t>(l.m) * l.n, 0x11);
  const int ldy32 = l.n + kRawGap;
  Guarded<std::int32_t> y32(raw ? static_cast<std::size_t>(l.m) * ldy32 : 1, kRawSentinel);
  if (v.operands == qd::S8Operands::kS16) {
    const int kp = l.k + (l.k & 1);
    Guarded<std::int16_t> a(static_cast<std::size_t>(l.m) * kp, 0);
    Guarded<std::int16_t> b(static_cast<std::size_t>(panels) * kp * qd::kS8PanelCols, 0);
    for (int i = 0; i < l.m; ++i)
      for (int k = 0; k < l.k; ++k) a.data()[i * kp + k] = l.d[static_cast<std::size_t>(i) * l.k + k];
    // Column j of panel p, reduction index k: [p][k / 2][j][k % 2]; zero past n.
    for (int c = 0; c < l.n; ++c)
      for (int k = 0; k < l.k; ++k)
        b.data()[((static_cast<std::size_t>(c / 16) * (kp / 2) + k / 2) * 16 + c % 16) * 2 + k % 2] =
            l.w[static_cast<std::size_t>(c) * l.k + k];
    qd::S8GemmTile t;
    t.a = a.data(), t.lda = kp, t.m = l.m, t.b = b.data(), t.n = l.n, t.k_padded = kp;
    t.out = out, t.y = y.data(), t.ldy = l.n;
    if (raw) t.y = nullptr, t.y32 = y32.data(), t.ldy = ldy32;
    v.gemm(t);
  } else {
    const int k4 = (l.k + 3) / 4 * 4;
    Guarded<std::uint8_t> a(static_cast<std::size_t>(l.m) * k4, 0);
    Guarded<std::int8_t> b(static_cast<std::size_t>(panels) * k4 * qd::kS8PanelCols, 0);
    Guarded<std::int32_t> offset(static_cast<std::size_t>(panels) * qd::kS8PanelCols, 0);
    for (int i = 0; i < l.m; ++i)
      for (int k = 0; k < l.k; ++k) {
        const int u = l.d[static_cast<std::size_t>(i) * l.k + k] + l.z;
        REQUIRE((u >= 0 && u <= 255));
        a.data()[i * k4 + k] = static_cast<std::uint8_t>(u);
      }
    // Column j of panel p, reduction index k: [p][k / 4][j][k % 4]; zero past n.
    for (int c = 0; c < l.n; ++c) {
      std::int32_t sum = 0;
      for (int k = 0; k < l.k; ++k) {
        const std::int8_t wv = l.w[static_cast<std::size_t>(c) * l.k + k];
        b.data()[((static_cast<std::size_t>(c / 16) * (k4 / 4) + k / 4) * 16 + c % 16) * 4 + k % 4] = wv;
        sum += wv;
      }
      offset.data()[c] = -l.z * sum;
    }
    qd::U8S8GemmTile t;
    t.a = a.data(), t.lda = k4, t.m = l.m, t.b = b.data(), t.col_offset = offset.data(), t.n = l.n, t.k_padded = k4;
    t.out = out, t.y = y.data(), t.ldy = l.n;
    if (raw) t.y = nullptr, t.y32 = y32.data(), t.ldy = ldy32;
    v.gemm_u8s8(t);
  }
  if (raw) {
    const std::vector<std::int32_t> all = y32.ToVector();
    raw->assign(static_cast<std::size_t>(l.m) * l.n, 0);
    int gap_written = 0;
    for (int i = 0; i < l.m; ++i) {
      for (int c = 0; c < l.n; ++c)
        (*raw)[static_cast<std::size_t>(i) * l.n + c] = all[static_cast<std::size_t>(i) * ldy32 + c];
      for (int c = l.n; c < ldy32; ++c) gap_written += all[static_cast<std::size_t>(i) * ldy32 + c] != kRawSentinel;
    }
    CHECK(gap_written == 0);
    return;
  }
  const S8 got = y.ToVector();
  std::copy(got.begin(), got.end(), y_out);
}

TEST_CASE("int8 fast output stage equals RequantizeToRange in every variant and mode") {
  std::mt19937 rng(2027);
  const StageCase s = StageCases(rng);
  const int n = static_cast<int>(s.acc.size());
  // GEMM: one column per (requant, acc), acc = bias (activations x == zp_in), 5 rows.
  LogicalTile tile;
  tile.m = 5, tile.n = n, tile.k = 3, tile.z = 77;  // k = 3: a reduction tail in both layouts
  tile.d.assign(static_cast<std::size_t>(tile.m) * tile.k, 0);
  tile.w.resize(static_cast<std::size_t>(n) * tile.k);
  for (std::size_t i = 0; i < tile.w.size(); ++i) tile.w[i] = static_cast<std::int8_t>(static_cast<int>(i % 255) - 127);
  const int rows = tile.m;
  // Depthwise: one channel per (requant, acc), x == zp_in everywhere, 2 pixels.
  qk::Conv2dParams dw;
  dw.batch = 1, dw.in_h = 1, dw.in_w = 2, dw.in_c = n, dw.out_c = n, dw.groups = n;
  const int cp = (n + 15) / 16 * 16;
  std::vector<std::int16_t> wdw(static_cast<std::size_t>(cp));
  for (int c = 0; c < cp; ++c) wdw[c] = static_cast<std::int16_t>(c % 255 - 127);
  const std::int8_t zp_in = -77;
  const S8 xdw(static_cast<std::size_t>(2) * n, zp_in);
  ForEachInt8Variant([&](const qd::Int8GemmVariant& v) {
    for (RequantMode mode : kModes) {
      for (const StageRange& r : kStageRanges) {
        const std::string what = std::string(qk::RequantModeName(mode)) + " zp " + std::to_string(r.zp) + " range [" +
                                 std::to_string(r.lo) + ", " + std::to_string(r.hi) + "]";
        CAPTURE(what);
        S8 want(static_cast<std::size_t>(n));
        for (int c = 0; c < n; ++c)
          want[c] = static_cast<std::int8_t>(qk::RequantizeToRange(s.acc[c], s.requant[c], mode, r.zp, r.lo, r.hi));
        qd::S8OutputStage out;
        out.requant = s.requant.data();
        out.bias = s.acc.data();
        out.mode = mode;
        out.zp_out = r.zp, out.act_min = r.lo, out.act_max = r.hi;

        S8 y(static_cast<std::size_t>(rows) * n, 0x11);
        RunTile(v, tile, out, y.data());
        for (int i = 0; i < rows; ++i)
          CheckSame("gemm row " + std::to_string(i), S8(y.begin() + i * n, y.begin() + (i + 1) * n), want);

        S8 ydw(static_cast<std::size_t>(2) * n, 0x11);
        qd::S8DepthwiseTile d;
        d.shape = &dw, d.zp_in = zp_in, d.w = wdw.data(), d.channels_padded = cp, d.x = xdw.data();
        d.out = out, d.y = ydw.data(), d.pix0 = 0, d.pix1 = 2;
        v.depthwise(d);
        for (int i = 0; i < 2; ++i)
          CheckSame("depthwise pixel " + std::to_string(i), S8(ydw.begin() + i * n, ydw.begin() + (i + 1) * n), want);
      }
    }
  });
}

// The one-channel conv's 16-lane output stage (conv_s8_c1_avx512vnni.cpp):
// all 16 lanes share one channel's parameters and bias. Every (requant, acc)
// case above goes into lane 0 beside 15 other accumulators of the list, with
// and without a bias (added with int32 wraparound, as the kernel does; the
// conv's Prepare bound keeps real sums from wrapping).
TEST_CASE("int8 one-channel conv output stage equals RequantizeToRange lane by lane") {
  if (!qk::IsaAvailable(qk::Isa::kAvx512Vnni)) {
    MESSAGE("skipped: conv_s8_c1_requant_16__avx512vnni needs avx512vnni (not available or capped by QUALM_ISA)");
    return;
  }
  std::mt19937 rng(2029);
  const StageCase s = StageCases(rng);
  const std::size_t n = s.acc.size();
  struct Range {
    int zp, lo, hi;
  };
  const Range ranges[] = {{0, -128, 127}, {-128, -128, 127}, {127, -128, 127}, {-5, -5, 127}, {3, -20, 30}};
  std::size_t checked = 0;
  for (RequantMode mode : kModes)
    for (const Range& r : ranges) {
      const std::string what = std::string(qk::RequantModeName(mode)) + " zp " + std::to_string(r.zp);
      CAPTURE(what);
      for (std::size_t i = 0; i < n; ++i) {
        std::int32_t acc[16];
        for (std::size_t j = 0; j < 16; ++j) acc[j] = s.acc[j == 0 ? i : (i * 31 + j * 977) % n];
        const std::int32_t bias = i % 3 == 0 ? s.acc[(i * 13) % n] : static_cast<std::int32_t>(i % 2001) - 1000;
        qd::S8OutputStage out;
        out.requant = &s.requant[i];
        out.bias = i % 4 == 1 ? nullptr : &bias;
        out.mode = mode;
        out.zp_out = r.zp, out.act_min = r.lo, out.act_max = r.hi;
        std::int8_t got[16];
        qd::conv_s8_c1_requant_16__avx512vnni(acc, out, 0, got);
        for (int j = 0; j < 16; ++j) {
          const auto sum = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[j]) +
                                                     static_cast<std::uint32_t>(out.bias ? bias : 0));
          const auto want = static_cast<std::int8_t>(qk::RequantizeToRange(sum, s.requant[i], mode, r.zp, r.lo, r.hi));
          if (got[j] != want) {
            CAPTURE(i);
            CAPTURE(j);
            CAPTURE(sum);
            CAPTURE(s.requant[i].multiplier);
            CAPTURE(s.requant[i].shift);
            CHECK(int{got[j]} == int{want});
          }
          ++checked;
        }
      }
    }
  CHECK(checked == 16 * n * 3 * std::size(ranges));
}

TEST_CASE("int8 fast gemm tiles stay inside their operands in every variant") {
  // Activation rows, panels, column corrections and outputs each end at an
  // inaccessible page; every row count 1..17 (tails of the 4- and 8-row
  // tiles), reduction lengths around pairs and quads, column counts around the
  // 16-column panel and the 32-column pair. Outputs against an int64 sum.
  std::mt19937 rng(77);
  std::uniform_int_distribution<int> act(-255, 255), wt(-127, 127), byte(0, 255);
  ForEachInt8Variant([&](const qd::Int8GemmVariant& v) {
    for (int k : {1, 2, 3, 4, 5, 26, 150, 577})
      for (int n : {1, 7, 16, 17, 32, 40, 49})
        for (int m = 1; m <= 17; ++m) {
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(m);
          LogicalTile l;
          l.m = m, l.n = n, l.k = k;
          l.d.resize(static_cast<std::size_t>(m) * k);
          if (v.operands == qd::S8Operands::kS16) {
            for (auto& d : l.d) d = static_cast<std::int16_t>(act(rng));
          } else {
            l.z = byte(rng);  // zp_in + 128; u = x + 128 anywhere in [0, 255]
            for (auto& d : l.d) d = static_cast<std::int16_t>(byte(rng) - l.z);
          }
          l.w.resize(static_cast<std::size_t>(n) * k);
          for (auto& w : l.w) w = static_cast<std::int8_t>(wt(rng));
          std::vector<qk::Requant> rq(static_cast<std::size_t>(n));
          for (auto& r : rq) r = MakeRequant((1 << 30) + static_cast<std::int32_t>(rng() % (1u << 30)), -9);
          qd::S8OutputStage out;
          out.requant = rq.data(), out.zp_out = 3;
          S8 got(static_cast<std::size_t>(m) * n);
          RunTile(v, l, out, got.data());
          S8 want(static_cast<std::size_t>(m) * n);
          for (int i = 0; i < m; ++i)
            for (int c = 0; c < n; ++c) {
              std::int64_t acc = 0;
              for (int kk = 0; kk < k; ++kk)
                acc += std::int64_t{l.d[static_cast<std::size_t>(i) * k + kk]} * l.w[static_cast<std::size_t>(c) * k + kk];
              want[static_cast<std::size_t>(i) * n + c] = static_cast<std::int8_t>(qk::RequantizeToRange(
                  static_cast<std::int32_t>(acc), rq[static_cast<std::size_t>(c)], RequantMode::kGemmlowp, 3, -128, 127));
            }
          CheckSame("gemm tile", got, want);
        }
  });
}

TEST_CASE("int8 fast gemm raw int32 output (y32) is the exact sum in every variant") {
  // The hybrid kernels' mode (dense_hybrid.h, conv2d_hybrid.h): no bias, no
  // output stage, the accumulators themselves, col_offset included for u8 x s8.
  // Row, reduction and column tails as above; operands and output end at an
  // inaccessible page, and nothing is written between column n and ldy.
  std::mt19937 rng(78);
  std::uniform_int_distribution<int> act(-255, 255), wt(-127, 127), byte(0, 255);
  ForEachInt8Variant([&](const qd::Int8GemmVariant& v) {
    for (int k : {1, 3, 4, 7, 26, 150, 401})
      for (int n : {1, 5, 16, 17, 31, 32, 33, 50})
        for (int m : {1, 2, 3, 4, 5, 7, 8, 9, 13, 17}) {
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(m);
          LogicalTile l;
          l.m = m, l.n = n, l.k = k;
          l.d.resize(static_cast<std::size_t>(m) * k);
          if (v.operands == qd::S8Operands::kS16) {
            for (auto& d : l.d) d = static_cast<std::int16_t>(act(rng));
          } else {
            l.z = byte(rng);
            for (auto& d : l.d) d = static_cast<std::int16_t>(byte(rng) - l.z);
          }
          l.w.resize(static_cast<std::size_t>(n) * k);
          for (auto& w : l.w) w = static_cast<std::int8_t>(wt(rng));
          std::vector<std::int32_t> got;
          S8 unused(static_cast<std::size_t>(m) * n);
          RunTile(v, l, qd::S8OutputStage{}, unused.data(), &got);  // requant null: must not be read
          std::size_t bad = 0;
          for (int i = 0; i < m; ++i)
            for (int c = 0; c < n; ++c) {
              std::int64_t acc = 0;
              for (int kk = 0; kk < k; ++kk)
                acc += std::int64_t{l.d[static_cast<std::size_t>(i) * k + kk]} * l.w[static_cast<std::size_t>(c) * k + kk];
              bad += got[static_cast<std::size_t>(i) * n + c] != acc;
            }
          CHECK(bad == 0);
        }
  });
}

TEST_CASE("int8 fast dispatch names a variant and the test hook covers only available ISAs") {
  const std::string chosen = qk::Int8GemmPathName();
  CHECK(!chosen.empty());
  CHECK(chosen.find(qk::Int8GemmPathIsa() == std::string("scalar") ? "generic" : qk::Int8GemmPathIsa()) !=
        std::string::npos);
  CHECK(qd::DescribeInt8GemmDispatch().find(chosen + ": chosen") != std::string::npos);
  CHECK(qd::Int8GemmVariants().back().isa == qk::Isa::kScalar);
  {
    qd::ScopedInt8GemmIsaForTesting none(qk::Isa::kAvx512);  // no such variant
    CHECK(!none.ok());
    CHECK(std::string(qk::Int8GemmPathName()) == chosen);
  }
  // The best available variant is the chosen one: VNNI where the CPU (under the cap) has it.
  if (qk::IsaAvailable(qk::Isa::kAvx512Vnni)) CHECK(chosen == "s8u8_gemm_8x32c4__avx512vnni");
  else if (qk::IsaAvailable(qk::Isa::kAvxVnni)) CHECK(chosen == "s8u8_gemm_6x16c4__avxvnni");
  else if (qk::IsaAvailable(qk::Isa::kAvx2)) CHECK(chosen == "s8s16_gemm_4x16c2__avx2");
  {
    qd::ScopedInt8GemmIsaForTesting avxvnni(qk::Isa::kAvxVnni);
    CHECK(avxvnni.ok() == qk::IsaAvailable(qk::Isa::kAvxVnni));
    if (avxvnni.ok()) CHECK(std::string(qk::Int8GemmPathName()) == "s8u8_gemm_6x16c4__avxvnni");
  }
  {
    qd::ScopedInt8GemmIsaForTesting avx2(qk::Isa::kAvx2);
    CHECK(avx2.ok() == qk::IsaAvailable(qk::Isa::kAvx2));
    if (avx2.ok()) CHECK(std::string(qk::Int8GemmPathName()) == "s8s16_gemm_4x16c2__avx2");
  }
  {
    qd::ScopedInt8GemmIsaForTesting scalar(qk::Isa::kScalar);
    REQUIRE(scalar.ok());
    CHECK(std::string(qk::Int8GemmPathName()) == "s8s16_gemm_1x16c2__generic");
  }
  CHECK(std::string(qk::Int8GemmPathName()) == chosen);
}

}  // namespace
