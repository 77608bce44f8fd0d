// The vectorized forms of QuantizeSampleDynamic (detail/hybrid_quant_variants.h)
// against the scalar function itself (hybrid_quant.h), BIT FOR BIT: the same
// params (scale bits, zero point), the same `finite`, the same q everywhere
// (and q untouched for a non-finite sample), on every variant this machine
// runs (the first case prints which ran and which were skipped).
//  * Ties: for several sample ranges (both signs, one-signed, zero points at
//    both ends), every k + 1/2 of the int8 grid and the floats within 6 ulps of
//    it, both signs; the test counts the exact ties (x / s == k + 1/2 in float)
//    it hit and requires many, so the half-away-from-zero path is exercised.
//  * Random data: lengths 0..70 (every tail of the 8- and 32-element steps),
//    primes and a ResNet-sized image; uniform, one-signed, spiky, tiny
//    (below the normal-scale threshold), huge (near FLT_MAX), denormals,
//    signed zeros; NaN / +-inf at the first, a middle, a vector-tail and the
//    last position.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/hybrid_quant_variants.h"
#include "qualm/kernels/hybrid_quant.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;

namespace {

constexpr std::int8_t kUntouched = 0x5A;

// Runs the variant and the reference on x; both must agree on everything.
void ExpectSame(const qd::QuantizeSampleVariant& v, const std::vector<float>& x, const std::string& what) {
  const std::int64_t n = static_cast<std::int64_t>(x.size());
  std::vector<std::int8_t> want(x.size() + 1, kUntouched), got(x.size() + 1, kUntouched);
  const qk::DynamicQuant w = qk::QuantizeSampleDynamic(x.data(), n, want.data());
  const qk::DynamicQuant g = v.fn(x.data(), n, got.data());
  CAPTURE(what);
  CAPTURE(n);
  REQUIRE(g.finite == w.finite);
  std::uint32_t sw = 0, sg = 0;
  std::memcpy(&sw, &w.params.scale, 4);
  std::memcpy(&sg, &g.params.scale, 4);
  REQUIRE(sg == sw);
  REQUIRE(g.params.zero_point == w.params.zero_point);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) {
      CAPTURE(i);
      CAPTURE(x[i < x.size() ? i : 0]);
      REQUIRE(int{got[i]} == int{want[i]});
    }
  }
}

template <typename Body>
void ForEachVariant(const Body& body) {
  const auto runnable = qd::RunnableQuantizeSampleVariants();
  REQUIRE(!runnable.empty());
  for (const auto& v : runnable) {
    CAPTURE(std::string(v.name));
    body(v);
  }
}

TEST_CASE("dynamic quantization variants: which this machine runs") {
  for (const auto& v : qd::QuantizeSampleVariants()) {
    std::printf("dynamic quantization variant %-30s %s\n", v.name,
                qk::IsaAvailable(v.isa) ? "RUN" : "SKIPPED (ISA not available or capped by QUALM_ISA)");
  }
  CHECK(qd::QuantizeSampleVariants().back().isa == qk::Isa::kScalar);
  CHECK(qd::DescribeQuantizeSampleDispatch().find(std::string(qd::ActiveQuantizeSampleVariant().name) + ": chosen") !=
        std::string::npos);
  if (qk::IsaAvailable(qk::Isa::kAvx2)) CHECK(std::string(qd::ActiveQuantizeSampleVariant().name) == "f32_qs8_dynamic_u8__avx2");
}

TEST_CASE("dynamic quantization variants: ties and their neighbours, bit for bit") {
  // (lo, hi) of each sample: the scale and zero point follow from them.
  const std::vector<std::pair<float, float>> ranges = {
      {-1.0f, 1.0f}, {-3.7f, 0.9f}, {0.0f, 2.5f}, {-6.1f, 0.0f}, {-0.013f, 41.0f}, {-1e-3f, 1e-3f}, {-255.0f, 255.0f}};
  long exact_ties = 0;
  ForEachVariant([&](const qd::QuantizeSampleVariant& v) {
    for (const auto& [lo, hi] : ranges) {
      qk::QuantParams p;
      REQUIRE_FALSE(qk::DynamicRangeParams(lo, hi, &p));
      std::vector<float> x = {lo, hi};  // fixes the range: every other value lies inside it
      for (int k = -256; k <= 256; ++k) {
        const float centre = static_cast<float>((k + 0.5) * static_cast<double>(p.scale));
        float a = centre, b = centre;
        for (int u = 0; u < 6; ++u) a = std::nextafter(a, -INFINITY), b = std::nextafter(b, INFINITY);
        for (float c = a; c <= b; c = std::nextafter(c, INFINITY)) {
          if (!(c >= lo && c <= hi)) continue;
          x.push_back(c);
          const float q = c / p.scale;
          if (q == std::floor(q) + 0.5f) ++exact_ties;
        }
      }
      ExpectSame(v, x, "ties in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      // Every tail position too: the same values from offsets 1..7.
      for (std::size_t off = 1; off < 8; ++off) {
        std::vector<float> y(x.begin() + static_cast<std::ptrdiff_t>(off), x.end());
        y.push_back(lo), y.push_back(hi);
        ExpectSame(v, y, "ties, shifted by " + std::to_string(off));
      }
    }
  });
  MESSAGE("exact ties hit: " << exact_ties);
  CHECK(exact_ties > 1000);
}

TEST_CASE("dynamic quantization variants: random and awkward samples, bit for bit") {
  std::mt19937 rng(1234);
  const float kMax = std::numeric_limits<float>::max();
  const float kDenorm = std::numeric_limits<float>::denorm_min();
  auto make = [&](int kind, std::size_t n) {
    std::vector<float> x(n);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& e : x) {
      switch (kind) {
        case 0: e = u(rng) * 3.0f; break;                              // uniform, both signs
        case 1: e = std::fabs(u(rng)) * 7.0f; break;                   // one-signed, zp at -128
        case 2: e = -std::fabs(u(rng)) * 0.5f; break;                  // one-signed, zp at 127
        case 3: e = (rng() % 17 == 0) ? u(rng) * 1e4f : u(rng) * 1e-2f; break;  // spiky
        case 4: e = u(rng) * 1e-37f; break;                            // tiny: all-zero result
        case 5: e = u(rng) * kMax; break;                              // huge
        case 6: e = static_cast<float>(rng() % 5) * kDenorm * (rng() % 2 ? 1.0f : -1.0f); break;  // denormals
        case 7: e = (rng() % 2) ? 0.0f : -0.0f; break;                 // signed zeros only
        default: e = std::round(u(rng) * 20.0f) / 4.0f; break;         // on a coarse grid
      }
    }
    return x;
  };
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 70; ++n) lengths.push_back(n);
  for (std::size_t n : {97u, 127u, 257u, 401u, 784u, 12544u}) lengths.push_back(n);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY};
  ForEachVariant([&](const qd::QuantizeSampleVariant& v) {
    for (std::size_t n : lengths) {
      for (int kind = 0; kind <= 8; ++kind) {
        std::vector<float> x = make(kind, n);
        ExpectSame(v, x, "kind " + std::to_string(kind));
        if (n == 0) continue;
        // One non-finite value at the first, a middle, the first tail and the last position.
        for (std::size_t pos : {std::size_t{0}, n / 2, n / 8 * 8, n - 1}) {
          if (pos >= n) continue;
          for (float sp : specials) {
            std::vector<float> y = x;
            y[pos] = sp;
            ExpectSame(v, y, "kind " + std::to_string(kind) + " special at " + std::to_string(pos));
          }
        }
      }
    }
  });
}

}  // namespace
