// The fast int8 elementwise-family kernels (fast::add_s8, rescale_s8,
// quantize_s8, dequantize_s8, max_pool2d_s8, avg_pool2d_s8, global_avg_pool_s8)
// against the frozen references: every variant this machine can run, bit for
// bit (==), never a tolerance. The first test case prints which variants ran
// and which were skipped (ISA not available, or capped by QUALM_ISA).
//  1. rescale_s8 with hand-built requantizations: every shift -31..30, edge
//     multipliers (2^30, 2^30 + 1, 2^31 - 1, random, 0), every one of the 256
//     inputs, all three modes, zero points at both ends, several clamps. This
//     is the proof that internal/requant_avx2.h is RequantizeToRange.
//  2. add_s8 with hand-built requantizations whose input stage saturates to
//     INT32_MIN / INT32_MAX (so the output stage sees the whole int32 range),
//     every input shift, a spread of output shifts, all modes.
//  3. add_s8 and rescale_s8 through Prepare on random scales and awkward sizes
//     (0, 1, primes, tails not a multiple of 32, ResNet-20's 28x28x16 plus a
//     tail), ReLU bounds, and saturation at both ends.
//  4. quantize_s8 (both roundings) on exact ties, NaNs, infinities, denormals,
//     the largest floats, random values and random bit patterns, and
//     dequantize_s8 on every input, compared bit for bit.
//  5. max / average pooling on random and awkward shapes (channels 1..65, so
//     every block width 8 / 16 / 32, overlapped tails, the narrow max pool below 8
//     and its rows around the 4096-byte row buffer, and the reference below 8;
//     padding, stride, count_include_pad, every window position), and global
//     average pooling with sums up to 8.9 million, with ties of the rounding division.
// Outputs of the "normal" cases are checked not to be degenerate (mostly
// clamped or constant), so that equality means something. Inputs and outputs
// end at an inaccessible page, so reading or writing past any of them crashes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/quantize_s8.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;
using qk::RequantMode;

namespace {

constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};

// n elements of T ending exactly at a PROT_NONE page.
template <typename T>
class Guarded {
 public:
  explicit Guarded(std::size_t n) : n_(n) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = (n * sizeof(T) + page - 1) / page * page;
    size_ = bytes + page;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    base_ = static_cast<char*>(m);
    REQUIRE(mprotect(base_ + bytes, page, PROT_NONE) == 0);
    data_ = reinterpret_cast<T*>(base_ + bytes - n * sizeof(T));
  }
  Guarded(const std::vector<T>& v) : Guarded(v.size()) {
    if (!v.empty()) std::memcpy(data_, v.data(), v.size() * sizeof(T));
  }
  ~Guarded() { munmap(base_, size_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  T* data() { return data_; }
  std::vector<T> vec() const { return std::vector<T>(data_, data_ + n_); }

 private:
  std::size_t n_, size_ = 0;
  char* base_ = nullptr;
  T* data_ = nullptr;
};

// Runs body() under each variant the machine runs (test hook); returns how many ran.
int ForEachVariant(const std::function<void()>& body) {
  int ran = 0;
  for (const auto& v : qd::S8EltwiseVariants()) {
    qd::ScopedS8EltwiseIsaForTesting scoped(v.isa);
    if (!scoped.ok()) continue;
    REQUIRE(std::string(qd::S8EltwisePathName()) == v.name);
    const std::string variant = v.name;
    CAPTURE(variant);
    body();
    ++ran;
  }
  REQUIRE(ran >= 1);
  return ran;
}

// The first mismatch, or "" (so a failure names its index and values).
template <typename T>
std::string FirstDiff(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return "sizes differ";
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0)
      return "index " + std::to_string(i) + " of " + std::to_string(got.size()) + ": got " +
             std::to_string(+got[i]) + ", want " + std::to_string(+want[i]);
  return "";
}

std::vector<std::int8_t> RandomS8(std::size_t n, std::mt19937& rng, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(d(rng));
  return v;
}

// Not mostly clamped, not constant: at least 30% strictly inside, 5 values.
void CheckNotDegenerate(const std::vector<std::int8_t>& y, int lo, int hi) {
  if (y.size() < 64) return;
  std::size_t inside = 0;
  std::set<int> values;
  for (std::int8_t v : y) {
    inside += v > lo && v < hi;
    values.insert(v);
  }
  INFO(inside << " of " << y.size() << " inside (" << lo << ", " << hi << "), " << values.size() << " values");
  CHECK(inside * 10 >= y.size() * 3);
  CHECK(values.size() >= 5);
}

qk::Requant MakeRequant(std::int32_t m, int shift) {
  return {m, shift, static_cast<float>(std::ldexp(static_cast<double>(m), shift - 31))};
}

// Edge and random multipliers, all in QuantizeMultiplier's range [2^30, 2^31 - 1].
std::vector<std::int32_t> EdgeMultipliers(std::mt19937& rng) {
  std::uniform_int_distribution<std::int32_t> d(1 << 30, INT32_MAX);
  return {1 << 30, (1 << 30) + 1, INT32_MAX, d(rng), d(rng)};
}

void CheckRescale(const qk::PreparedRescaleS8& p, const std::vector<std::int8_t>& x) {
  std::vector<std::int8_t> want(x.size());
  qk::ref::rescale_s8(p, x.data(), want.data());
  Guarded<std::int8_t> gx(x);
  ForEachVariant([&] {
    // threads 0: the one-thread entry point; 1..3: the threaded one (the
    // suites set QUALM_THREAD_MIN_WORK=0, so even small counts are split).
    for (int threads = 0; threads <= 3; ++threads) {
      Guarded<std::int8_t> gy(x.size());
      if (threads == 0) {
        qk::fast::rescale_s8(p, gx.data(), gy.data());
      } else {
        qk::fast::rescale_s8(qk::KernelContextS8{.threads = threads}, p, gx.data(), gy.data());
      }
      const std::string diff = FirstDiff(gy.vec(), want);
      INFO("rescale M " << p.requant.multiplier << " shift " << p.requant.shift << " mode "
                        << std::string(qk::RequantModeName(p.mode)) << " zp " << p.input_zero_point << " -> "
                        << p.output_zero_point << " clamp [" << p.act_min << ", " << p.act_max << "] threads "
                        << threads << ": " << diff);
      CHECK(diff.empty());
    }
  });
}

void CheckAdd(const qk::PreparedAddS8& p, const std::vector<std::int8_t>& a, const std::vector<std::int8_t>& b) {
  std::vector<std::int8_t> want(a.size());
  qk::ref::add_s8(p, a.data(), b.data(), want.data());
  Guarded<std::int8_t> ga(a), gb(b);
  ForEachVariant([&] {
    // Without the prepared table (per-call input tables, lane requantization),
    // then with it (one lookup per element), built under this variant.
    qk::PreparedAddS8 with_table = p;
    qk::fast::PrepareAddS8Table(with_table);
    const bool reference_row = std::string(qd::S8EltwisePathName()) == "s8_eltwise_ref__generic";
    CHECK(with_table.table.size() == (reference_row ? 0u : qk::kAddS8TableBytes));
    for (const qk::PreparedAddS8* q : {&p, static_cast<const qk::PreparedAddS8*>(&with_table)})
      for (int threads = 0; threads <= 3; ++threads) {  // as in CheckRescale
        Guarded<std::int8_t> gy(a.size());
        if (threads == 0) {
          qk::fast::add_s8(*q, ga.data(), gb.data(), gy.data());
        } else {
          qk::fast::add_s8(qk::KernelContextS8{.threads = threads}, *q, ga.data(), gb.data(), gy.data());
        }
        const std::string diff = FirstDiff(gy.vec(), want);
        INFO("add M " << p.requant_a.multiplier << "/" << p.requant_a.shift << ", " << p.requant_b.multiplier << "/"
                      << p.requant_b.shift << ", out " << p.requant_out.multiplier << "/" << p.requant_out.shift
                      << " mode " << std::string(qk::RequantModeName(p.mode)) << " count " << p.count
                      << (q->table.empty() ? " no table" : " table") << " threads " << threads << ": " << diff);
        CHECK(diff.empty());
      }
  });
}

// All 256 int8 values, then `extra` random ones (a tail that is not a multiple of 32).
std::vector<std::int8_t> AllInputs(std::size_t extra, std::mt19937& rng) {
  std::vector<std::int8_t> x;
  for (int v = -128; v <= 127; ++v) x.push_back(static_cast<std::int8_t>(v));
  const auto r = RandomS8(extra, rng);
  x.insert(x.end(), r.begin(), r.end());
  return x;
}

}  // namespace

TEST_CASE("int8 eltwise fast variants: which this machine runs") {
  // Printed, not only asserted: a machine without AVX2 passes every test below
  // with the reference row only, and the log must say so.
  int runnable = 0;
  for (const auto& v : qd::S8EltwiseVariants()) {
    const bool runs = qk::IsaAvailable(v.isa);
    runnable += runs;
    std::printf("int8 eltwise variant %-26s %s\n", v.name,
                runs ? "RUN"
                     : (std::string("SKIPPED (needs ") + qk::IsaName(v.isa) + "; " + qk::DescribeCpu() + ")").c_str());
  }
  std::printf("int8 eltwise dispatch: %s\n", qd::DescribeS8EltwiseDispatch().c_str());
  const auto all = qd::S8EltwiseVariants();
  REQUIRE(!all.empty());
  CHECK(all.back().isa == qk::Isa::kScalar);  // the reference row ends the table
  CHECK(std::string(all.back().name) == "s8_eltwise_ref__generic");
  CHECK(ForEachVariant([] {}) == runnable);
  if (qk::IsaAvailable(qk::Isa::kAvx2)) CHECK(std::string(qd::S8EltwisePathName()) != "s8_eltwise_ref__generic");
}

TEST_CASE("rescale_s8 fast: every shift, edge multipliers, all 256 inputs, all modes") {
  std::mt19937 rng(11);
  const auto x = AllInputs(37, rng);  // 293 elements
  const std::pair<int, int> zps[] = {{-128, 127}, {127, -128}, {0, 0}, {3, -5}};
  for (RequantMode mode : kModes) {
    for (int shift = -31; shift <= 30; ++shift) {
      for (std::int32_t m : EdgeMultipliers(rng)) {
        for (auto [zp_in, zp_out] : zps) {
          const std::pair<int, int> clamps[] = {{-128, 127}, {std::max(zp_out, -128), 127}, {-100, 50}};
          for (auto [lo, hi] : clamps) {
            qk::PreparedRescaleS8 p;
            p.count = static_cast<std::int64_t>(x.size());
            p.input_zero_point = zp_in;
            p.output_zero_point = zp_out;
            p.requant = MakeRequant(m, shift);
            p.act_min = lo;
            p.act_max = hi;
            p.mode = mode;
            CheckRescale(p, x);
          }
        }
      }
    }
    // A flushed multiplier (M = 0), and the exact identity (M = 2^30, shift 1).
    for (const qk::Requant r : {qk::Requant{0, 0, 1e-12f}, MakeRequant(1 << 30, 1)}) {
      qk::PreparedRescaleS8 p;
      p.count = static_cast<std::int64_t>(x.size());
      p.input_zero_point = 7;
      p.output_zero_point = -9;
      p.requant = r;
      p.mode = mode;
      CheckRescale(p, x);
    }
  }
}

TEST_CASE("rescale_s8 fast: equal params (the ReLU after a conv) is a plain clamp, and near misses are not") {
  // The AVX2 rescale takes a byte min/max path when the requantization is the
  // identity and the zero points are equal; every mode, extreme zero points and
  // clamps, all 256 inputs plus a tail. The near misses (multiplier 2^30 + 1,
  // shift 0 with 2^31 - 1, a float scale one ulp off 1, zero points one apart)
  // must keep the lane path and still equal the reference.
  std::mt19937 rng(17);
  const auto x = AllInputs(61, rng);  // 317 elements
  for (RequantMode mode : kModes) {
    for (int zp : {-128, -1, 0, 9, 127}) {
      const std::pair<int, int> clamps[] = {{-128, 127}, {zp, 127}, {zp, std::min(127, zp + 40)}, {-100, 50}, {3, 3}};
      for (auto [lo, hi] : clamps) {
        if (lo > hi) continue;
        const qk::Requant requants[] = {MakeRequant(1 << 30, 1), MakeRequant((1 << 30) + 1, 1),
                                        MakeRequant(INT32_MAX, 0), qk::Requant{1 << 30, 1, std::nextafter(1.0f, 2.0f)}};
        for (const qk::Requant& r : requants)
          for (int zp_out : {zp, zp == 127 ? 126 : zp + 1}) {
            qk::PreparedRescaleS8 p;
            p.count = static_cast<std::int64_t>(x.size());
            p.input_zero_point = zp;
            p.output_zero_point = zp_out;
            p.requant = r;
            p.act_min = lo;
            p.act_max = hi;
            p.mode = mode;
            CheckRescale(p, x);
          }
      }
      // Through Prepare with equal input and output params, as the int8 executor builds a ReLU / ReLU6.
      qk::RescaleS8Params rp;
      rp.count = static_cast<std::int64_t>(x.size());
      rp.input = rp.output = {0.037f, zp};
      rp.act_min = std::max(zp, -128);
      rp.act_max = std::min(127, zp + 50);
      rp.mode = mode;
      auto prepared = qk::PrepareRescaleS8(rp);
      REQUIRE(prepared.ok());
      CheckRescale(*prepared, x);
      std::vector<std::int8_t> y(x.size());
      qk::ref::rescale_s8(*prepared, x.data(), y.data());
      for (std::size_t i = 0; i < x.size(); ++i)  // what the reference itself gives: the clamp
        CHECK(y[i] == std::clamp<int>(x[i], rp.act_min, rp.act_max));
    }
  }
}

TEST_CASE("add_s8 fast: saturated input stages, the whole int32 range at the output stage") {
  // requant_b = 0 makes b' = 0, so a' alone reaches the output stage and may
  // saturate at INT32_MIN / INT32_MAX without the reference's sum overflowing.
  std::mt19937 rng(12);
  const auto a = AllInputs(45, rng);  // 301 elements
  const auto b = RandomS8(a.size(), rng);
  const int out_shifts[] = {-31, -30, -20, -12, -1, 0, 1, 2, 7, 20, 30};
  for (RequantMode mode : kModes) {
    for (int shift_a = -31; shift_a <= 30; ++shift_a) {
      for (int shift_out : out_shifts) {
        for (int zp_a : {-128, 127}) {
          qk::PreparedAddS8 p;
          p.count = static_cast<std::int64_t>(a.size());
          p.zero_point_a = zp_a;
          p.zero_point_b = 5;
          p.output_zero_point = zp_a == 127 ? -128 : 127;
          p.requant_a = MakeRequant(shift_a % 2 ? INT32_MAX : 1 << 30, shift_a);
          p.requant_b = qk::Requant{0, 0, 0.0f};
          p.requant_out = MakeRequant(EdgeMultipliers(rng)[static_cast<std::size_t>(shift_out + 31) % 5], shift_out);
          p.mode = mode;
          CheckAdd(p, a, b);
        }
      }
    }
  }
}

TEST_CASE("add_s8 fast: output multipliers above 1 (left shifts) on sums that stay in range") {
  // The case above saturates almost every output once the output stage shifts
  // left; here the input stages shrink a - zp to a few units (shifts -19 to
  // -27: a' ~ (a - zp) / 2^(shift + 19)), so sat(x 2^left) and the rounding
  // after it decide outputs inside [-128, 127]. The AVX-512 add's left shift
  // is checked by these (dropping it failed none of the cases above).
  std::mt19937 rng(14);
  const auto a = AllInputs(37, rng);
  const auto b = RandomS8(a.size(), rng);
  int informative = 0;
  for (RequantMode mode : kModes)
    for (int shift_a = -27; shift_a <= -19; shift_a += 2)
      for (int shift_b : {-26, -21})
        for (int shift_out = 1; shift_out <= 9; shift_out += 2) {
          qk::PreparedAddS8 p;
          p.count = static_cast<std::int64_t>(a.size());
          p.zero_point_a = -3, p.zero_point_b = 11, p.output_zero_point = -7;
          p.requant_a = MakeRequant(EdgeMultipliers(rng)[static_cast<std::size_t>(-shift_a) % 5], shift_a);
          p.requant_b = MakeRequant(EdgeMultipliers(rng)[static_cast<std::size_t>(shift_out) % 5], shift_b);
          p.requant_out = MakeRequant(EdgeMultipliers(rng)[static_cast<std::size_t>(shift_out + 2) % 5], shift_out);
          p.mode = mode;
          std::vector<std::int8_t> want(a.size());
          qk::ref::add_s8(p, a.data(), b.data(), want.data());
          informative += std::count_if(want.begin(), want.end(), [](std::int8_t v) { return v > -128 && v < 127; }) * 2 >
                         static_cast<std::ptrdiff_t>(want.size());
          CheckAdd(p, a, b);
        }
  CHECK(informative >= 40);  // most combinations keep most outputs off the clamps
}

TEST_CASE("add_s8 fast: every (a, b) pair of int8 values, every mode, extreme zero points") {
  // The AVX2 add reads each input's rescaling from a 256-entry table indexed by
  // the int8 value: all 65,536 pairs (plus a tail of 5) reach every entry of
  // both tables and every sum, under scales from equal to 64x apart.
  std::mt19937 rng(16);
  std::vector<std::int8_t> a, b;
  for (int va = -128; va <= 127; ++va)
    for (int vb = -128; vb <= 127; ++vb) {
      a.push_back(static_cast<std::int8_t>(va));
      b.push_back(static_cast<std::int8_t>(vb));
    }
  const auto ta = RandomS8(5, rng), tb = RandomS8(5, rng);
  a.insert(a.end(), ta.begin(), ta.end());
  b.insert(b.end(), tb.begin(), tb.end());
  const std::pair<int, int> zps[] = {{-128, 127}, {127, -128}, {0, 0}, {-7, 19}};
  const float ratios[] = {1.0f, 0.125f, 64.0f, 0.7f};
  for (RequantMode mode : kModes) {
    for (std::size_t k = 0; k < 4; ++k) {
      qk::AddS8Params ap;
      ap.count = static_cast<std::int64_t>(a.size());
      ap.input_a = {0.02f, zps[k].first};
      ap.input_b = {0.02f * ratios[k], zps[k].second};
      ap.output = {(ap.input_a.scale + ap.input_b.scale) * 1.1f, k == 2 ? -128 : 3};
      if (k == 3) ap.act_min = ap.output.zero_point;  // fused ReLU
      ap.mode = mode;
      auto add = qk::PrepareAddS8(ap);
      REQUIRE(add.ok());
      CheckAdd(*add, a, b);
      std::vector<std::int8_t> y(a.size());
      qk::ref::add_s8(*add, a.data(), b.data(), y.data());
      CheckNotDegenerate(y, k == 3 ? ap.output.zero_point : -128, 127);
    }
  }
}

TEST_CASE("add_s8 and rescale_s8 fast: through Prepare, random scales, awkward sizes, saturation") {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> log_ratio(-3.0f, 3.0f);
  const std::int64_t sizes[] = {0, 1, 2, 3, 7, 31, 32, 33, 63, 97, 255, 1021, 28 * 28 * 16 + 13};
  std::uniform_int_distribution<int> zp(-128, 127);
  for (RequantMode mode : kModes) {
    for (std::int64_t n : sizes) {
      for (int trial = 0; trial < 4; ++trial) {
        CAPTURE(n);
        CAPTURE(trial);
        const bool saturate = trial == 3;  // output scale 20x too fine: clamps at both ends
        const bool relu = trial == 2;
        const auto a = RandomS8(static_cast<std::size_t>(n), rng), b = RandomS8(static_cast<std::size_t>(n), rng);

        qk::AddS8Params ap;
        ap.count = n;
        ap.input_a = {0.05f * std::exp2(log_ratio(rng)), trial == 1 ? -128 : zp(rng)};
        ap.input_b = {0.05f * std::exp2(log_ratio(rng)), trial == 1 ? 127 : zp(rng)};
        const float s_out = (ap.input_a.scale + ap.input_b.scale) * 1.3f / (saturate ? 20.0f : 1.0f);
        ap.output = {s_out, trial == 1 ? 127 : zp(rng) / 4};
        if (relu) ap.act_min = ap.output.zero_point;
        ap.mode = mode;
        auto add = qk::PrepareAddS8(ap);
        REQUIRE(add.ok());
        CheckAdd(*add, a, b);

        qk::RescaleS8Params rp;
        rp.count = n;
        rp.input = {0.05f, trial == 1 ? -128 : zp(rng)};
        rp.output = {0.05f * std::exp2(log_ratio(rng)) / (saturate ? 20.0f : 1.0f), trial == 1 ? 127 : zp(rng) / 4};
        if (relu) rp.act_min = rp.output.zero_point;
        rp.mode = mode;
        auto rescale = qk::PrepareRescaleS8(rp);
        REQUIRE(rescale.ok());
        CheckRescale(*rescale, a);

        // Distrust: the reference outputs of the normal cases spread; the
        // saturating ones hit both ends.
        std::vector<std::int8_t> y(static_cast<std::size_t>(n));
        qk::ref::add_s8(*add, a.data(), b.data(), y.data());
        if (saturate && n >= 64) {
          CHECK(std::count(y.begin(), y.end(), -128) > 0);
          CHECK(std::count(y.begin(), y.end(), 127) > 0);
        } else if (trial == 0) {
          CheckNotDegenerate(y, -128, 127);
        }
      }
    }
  }
}

TEST_CASE("quantize_s8 / dequantize_s8 fast: ties, NaN, infinities, denormals, random bits, both roundings") {
  std::mt19937 rng(14);
  const float inf = std::numeric_limits<float>::infinity(), qnan = std::numeric_limits<float>::quiet_NaN();
  const float scales[] = {1.0f, 0.25f, 0.1f, 1.0f / 3.0f, 3e-5f, 1e3f, 0.0078125f, 1e-38f, 3e38f};
  for (float s : scales) {
    std::vector<float> x = {0.0f, -0.0f, qnan, -qnan, std::numeric_limits<float>::signaling_NaN(), inf, -inf,
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::min(), 0.49999997f * s, -0.49999997f * s, 0.5f * s, -0.5f * s,
                            8388608.5f, -8388609.0f, 16777216.0f * s, 1e30f, -1e30f};
    for (int k = -300; k <= 300; ++k) {  // exact ties and their neighbours (where x / s is exact)
      const float t = (static_cast<float>(k) + 0.5f) * s;
      x.push_back(t);
      x.push_back(std::nextafter(t, inf));
      x.push_back(std::nextafter(t, -inf));
      x.push_back(static_cast<float>(k) * s);
    }
    std::uniform_real_distribution<float> real(-200.0f, 200.0f);
    for (int i = 0; i < 700; ++i) x.push_back(real(rng) * s);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 300; ++i) {
      const std::uint32_t u = bits(rng);
      float f;
      std::memcpy(&f, &u, sizeof f);
      x.push_back(f);
    }
    for (std::size_t n : {x.size(), std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{33}}) {
      for (int zp : {-128, 0, 17, 127}) {
        for (auto rounding : {qk::RoundingMode::kHalfAwayFromZero, qk::RoundingMode::kHalfToEven}) {
          qk::QuantizeS8Params p;
          p.count = static_cast<std::int64_t>(n);
          p.q = {s, zp};
          p.rounding = rounding;
          REQUIRE(qk::Validate(p).ok());
          const std::vector<float> xs(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n));
          std::vector<std::int8_t> want(n);
          qk::ref::quantize_s8(p, xs.data(), want.data());
          Guarded<float> gx(xs);
          ForEachVariant([&] {
            Guarded<std::int8_t> gy(n);
            qk::fast::quantize_s8(p, gx.data(), gy.data());
            const std::string diff = FirstDiff(gy.vec(), want);
            INFO("quantize scale " << s << " zp " << zp << " rounding " << static_cast<int>(rounding) << ": " << diff
                                   << (diff.empty() ? "" : " (input " + std::to_string(xs[std::stoul(diff.substr(6))]) + ")"));
            CHECK(diff.empty());
          });
        }
      }
    }
    // Dequantize: every int8 value and a tail, each zero point.
    const auto q = AllInputs(29, rng);
    for (int zp : {-128, 0, 17, 127}) {
      qk::QuantizeS8Params p;
      p.count = static_cast<std::int64_t>(q.size());
      p.q = {s, zp};
      std::vector<float> want(q.size());
      qk::ref::dequantize_s8(p, q.data(), want.data());
      Guarded<std::int8_t> gq(q);
      ForEachVariant([&] {
        Guarded<float> gy(q.size());
        qk::fast::dequantize_s8(p, gq.data(), gy.data());
        const std::string diff = FirstDiff(gy.vec(), want);
        INFO("dequantize scale " << s << " zp " << zp << ": " << diff);
        CHECK(diff.empty());
      });
    }
  }
}

namespace {

void CheckPool(bool max, const qk::PreparedPool2dS8& p, const std::vector<std::int8_t>& x) {
  const std::size_t ny = static_cast<std::size_t>(p.shape.batch) * p.shape.out_h() * p.shape.out_w() * p.shape.channels;
  std::vector<std::int8_t> want(ny);
  (max ? qk::ref::max_pool2d_s8 : qk::ref::avg_pool2d_s8)(p, x.data(), want.data());
  Guarded<std::int8_t> gx(x);
  ForEachVariant([&] {
    Guarded<std::int8_t> gy(ny);
    (max ? qk::fast::max_pool2d_s8 : qk::fast::avg_pool2d_s8)(p, gx.data(), gy.data());
    const auto& s = p.shape;
    const std::string diff = FirstDiff(gy.vec(), want);
    INFO((max ? "max" : "avg") << " pool batch " << s.batch << " in " << s.in_h << "x" << s.in_w << "x" << s.channels
                               << " kernel " << s.kernel_h << "x" << s.kernel_w << " stride " << s.stride_h << ","
                               << s.stride_w << " pad " << s.pad_top << "," << s.pad_left << "," << s.pad_bottom << ","
                               << s.pad_right << " include_pad " << s.count_include_pad << " zp " << p.zero_point
                               << " clamp [" << p.act_min << ", " << p.act_max << "]: " << diff);
    CHECK(diff.empty());
  });
}

}  // namespace

TEST_CASE("max_pool2d_s8 / avg_pool2d_s8 fast: random and awkward shapes, padding, both count rules") {
  std::mt19937 rng(15);
  const int channels[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 16, 17, 31, 32, 33, 64, 65};
  std::uniform_int_distribution<int> size(1, 9), k(1, 3), st(1, 3), zpd(-128, 127);
  int ran = 0;
  for (int c : channels) {
    for (int trial = 0; trial < 24; ++trial) {
      qk::Pool2dS8Params pp;
      auto& s = pp.shape;
      s.batch = trial % 3 + 1;
      s.in_h = size(rng);
      s.in_w = size(rng);
      s.channels = c;
      s.kernel_h = k(rng);
      s.kernel_w = k(rng);
      s.stride_h = st(rng);
      s.stride_w = st(rng);
      std::uniform_int_distribution<int> pad_h(0, s.kernel_h - 1), pad_w(0, s.kernel_w - 1);
      s.pad_top = pad_h(rng);
      s.pad_bottom = pad_h(rng);
      s.pad_left = pad_w(rng);
      s.pad_right = pad_w(rng);
      s.count_include_pad = trial % 2 == 1;
      const int zp = trial % 8 == 0 ? -128 : trial % 8 == 1 ? 127 : zpd(rng);
      pp.input = pp.output = {0.02f, zp};
      if (trial % 4 == 3) {
        pp.act_min = zp;  // fused ReLU
      } else if (trial % 6 == 5) {
        pp.act_min = -20;
        pp.act_max = 30;
      }
      auto max = qk::PrepareMaxPool2dS8(pp);
      auto avg = qk::PrepareAvgPool2dS8(pp);
      if (!max.ok() || !avg.ok()) continue;  // a shape Validate rejects (window of padding only)
      const std::size_t nx = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * c;
      // Random data; every fourth trial all -128 or all 127 (the sums' ends).
      auto x = RandomS8(nx, rng);
      if (trial % 4 == 2) std::fill(x.begin(), x.end(), static_cast<std::int8_t>(trial % 8 == 2 ? -128 : 127));
      CheckPool(true, *max, x);
      CheckPool(false, *avg, x);
      ++ran;
    }
  }
  CHECK(ran > 200);
  // Model shapes: 2x2 stride 2 on 28x28x16 and on LeNet-5's 28x28x6 (the
  // narrow max pool's row buffer), 3x3 stride 2 pad 1 on 14x14x32.
  for (auto [h, c, kk, stride, pad] : {std::array<int, 5>{28, 16, 2, 2, 0}, std::array<int, 5>{28, 6, 2, 2, 0},
                                       std::array<int, 5>{14, 32, 3, 2, 1}}) {
    qk::Pool2dS8Params pp;
    pp.shape = {.batch = 2, .in_h = h, .in_w = h, .channels = c, .kernel_h = kk, .kernel_w = kk, .stride_h = stride,
                .stride_w = stride, .pad_top = pad, .pad_left = pad, .pad_bottom = pad, .pad_right = pad};
    pp.input = pp.output = {0.02f, -3};
    const auto x = RandomS8(static_cast<std::size_t>(2) * h * h * c, rng);
    CheckPool(true, *qk::PrepareMaxPool2dS8(pp), x);
    CheckPool(false, *qk::PrepareAvgPool2dS8(pp), x);
    std::vector<std::int8_t> y(static_cast<std::size_t>(2) * pp.shape.out_h() * pp.shape.out_w() * c);
    qk::ref::avg_pool2d_s8(*qk::PrepareAvgPool2dS8(pp), x.data(), y.data());
    CheckNotDegenerate(y, -128, 127);
  }
}

TEST_CASE("max_pool2d_s8 fast: narrow channels, rows around the row buffer's 4096 bytes, overlapping windows") {
  std::mt19937 rng(17);
  // in_w * channels: 4095, 4096 (both in the buffer), 4097 and 4900 (the reference).
  for (auto [w, c] : {std::array<int, 2>{585, 7}, std::array<int, 2>{1024, 4}, std::array<int, 2>{4097, 1},
                      std::array<int, 2>{700, 7}}) {
    qk::Pool2dS8Params pp;
    pp.shape = {.batch = 2, .in_h = 5, .in_w = w, .channels = c, .kernel_h = 3, .kernel_w = 3, .stride_h = 1,
                .stride_w = 2, .pad_top = 1, .pad_left = 2, .pad_bottom = 1, .pad_right = 2};
    pp.input = pp.output = {0.02f, 5};
    pp.act_min = -100;
    pp.act_max = 100;
    auto max = qk::PrepareMaxPool2dS8(pp);
    REQUIRE(max.ok());
    const auto x = RandomS8(static_cast<std::size_t>(2) * 5 * w * c, rng);
    CheckPool(true, *max, x);
  }
}

TEST_CASE("global_avg_pool_s8 fast: spatial 1 to 70000, channel tails, ties, both ends") {
  std::mt19937 rng(16);
  struct Case {
    int batch, spatial, channels;
  };
  const Case cases[] = {{1, 1, 1},  {2, 2, 3},   {3, 7, 16},  {64, 49, 64}, {5, 49, 65}, {1, 50, 31},
                        {2, 4, 32}, {1, 1000, 33}, {1, 70000, 2}, {4, 9, 10}, {2, 196, 32}};
  for (const Case& cs : cases) {
    for (int fill : {0, -128, 127, 1}) {  // 0: random; 1: values in {-1, 0, 1} (many exact .5 ties)
      qk::GlobalAvgPoolS8Params gp;
      gp.shape = {cs.batch, cs.spatial, cs.channels};
      gp.input = gp.output = {0.1f, 0};
      if (fill == 1) gp.act_min = -1;
      auto p = qk::PrepareGlobalAvgPoolS8(gp);
      REQUIRE(p.ok());
      const std::size_t nx = static_cast<std::size_t>(cs.batch) * cs.spatial * cs.channels;
      auto x = fill == 1 ? RandomS8(nx, rng, -1, 1) : RandomS8(nx, rng);
      if (fill == -128 || fill == 127) std::fill(x.begin(), x.end(), static_cast<std::int8_t>(fill));
      const std::size_t ny = static_cast<std::size_t>(cs.batch) * cs.channels;
      std::vector<std::int8_t> want(ny);
      qk::ref::global_avg_pool_s8(*p, x.data(), want.data());
      Guarded<std::int8_t> gx(x);
      ForEachVariant([&] {
        Guarded<std::int8_t> gy(ny);
        qk::fast::global_avg_pool_s8(*p, gx.data(), gy.data());
        const std::string diff = FirstDiff(gy.vec(), want);
        INFO("global avg batch " << cs.batch << " spatial " << cs.spatial << " channels " << cs.channels << " fill "
                                 << fill << ": " << diff);
        CHECK(diff.empty());
      });
    }
  }
}
