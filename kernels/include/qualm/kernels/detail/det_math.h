// qualm/kernels/detail/det_math.h: qualm's own deterministic float exp, tanh and sigmoid
// (DetExp, DetTanh, DetSigmoid), the activations of the float LSTM / GRU cells.
//
// Why not std::exp / std::tanh: libm's results are not specified (they differ
// between glibc versions and other C libraries) and a libm call per element
// cannot be vectorized. These functions are specified here, operation by
// operation, so that the scalar reference cell and the AVX2 / AVX-512 cells
// (fast/rnn_cell_f32_*.cpp) give the same bits on every ISA:
//
//  * each function is written ONCE, as a template over a "traits" type T
//    (ExpBody<T>, TanhBody<T>, SigmoidBody<T>). The scalar functions below are
//    the template on ScalarF32 (one float); each ISA's translation unit
//    instantiates it on its own vector traits (16 or 8 lanes). Every T::op is
//    one IEEE-754 single-precision operation per lane (add, sub, mul and div
//    correctly rounded to nearest even; compares; bit operations; int32
//    add / sub / shifts), so lane j of the vector code computes exactly what
//    the scalar code computes for element j;
//  * no FMA anywhere (the x86-64 baseline has none, and the build has
//    -ffp-contract=off so a*b+c stays two roundings); no libm; no table;
//  * rounding to an integer is the 1.5 * 2^23 magic add (round to nearest
//    even in the default rounding mode, the same instruction in both);
//  * MaxOf(a, b) is "a > b ? a : b" and MinOf(a, b) "a < b ? a : b", the
//    exact semantics of maxps / minps (the second operand when either is NaN),
//    so the clamps below pass a NaN in x through: NaN in, NaN out. A NaN's
//    sign and payload are not specified (the compiler may commute operands).
//
// DetExp(x):
//   x  = MinOf(89, MaxOf(-104, x))          (e^89 overflows float, e^-104 rounds to 0)
//   kn = x * log2(e) + 1.5*2^23;  n = kn - 1.5*2^23          (n = round(x / ln 2))
//   r  = (x - n * L1) - n * L2   (Cody-Waite: L1 = 0.693359375 has 9 significant
//                                 bits, so n * L1 is exact for |n| <= 151; L1 + L2 = ln 2)
//   p  = ((q(r) * r) * r + r) + 1,  q(r) = 1/2 + r(1/6 + r(1/24 + r(1/120 + r(1/720 + r/5040))))
//        (the degree-7 Taylor polynomial of e^r, |r| <= 0.35: truncation < 0.05 ulp)
//   2^n is applied in two exact steps, e = ((p * 2^n1) * 2^n2), n1 = n >> 1,
//   n2 = n - n1 (both in [-75, 64]: normal powers of two built by integer adds
//   into the exponent field), so that results in the subnormal range are
//   rounded once, and overflow gives +inf.
// DetTanh(x), a = |x|:
//   a < 0.625: t = a + (a * z) * P(z), z = a * a, P the minimax polynomial of
//              Cephes tanhf (S. L. Moshier) in Horner form: keeps tanh(x) ~ x
//              relative accuracy near 0;
//   otherwise: e = DetExp(-2a); t = (1 - e) / (1 + e) (e <= 0.29, so there is
//              no cancellation and no overflow; tanh(+-inf) = +-1);
//   then t gets the sign bit of x (so DetTanh(-x) = -DetTanh(x), tanh(-0) = -0).
// DetSigmoid(x):
//   e = DetExp(-|x|) (in (0, 1], never overflows); x < 0: e / (1 + e), else
//   1 / (1 + e). (1 / (1 + e^-x) would overflow below x = -88.7 and flush
//   sigmoid's subnormal results to 0; this form keeps them.)
//
// Measured accuracy against double-precision std::exp / std::tanh and
// 1 / (1 + exp(-x)) (tests/kernels/det_math_test.cpp: every 97th float in
// [-90, 90], both signs, plus all the special values), in units in the last
// place of the correctly rounded float result (subnormal ulp 2^-149):
//   DetExp 1.00 ulp, DetTanh 1.50 ulp, DetSigmoid 2.28 ulp measured
//   (the test asserts < 1.5, < 2 and < 3), results in the subnormal range
//   included; overflow gives +inf exactly where e^x rounds past FLT_MAX.
//
// A public detail header only so that tests can check it; engine code uses
// the kernels that call it (recurrent.h), never these functions directly.
#pragma once

#include <cstdint>
#include <cstring>

namespace qualm::kernels::detail {

namespace det {
inline constexpr float kExpLo = -104.0f;
inline constexpr float kExpHi = 89.0f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;  // ln 2 - kLn2Hi, rounded
inline constexpr float kInvFact[6] = {1.0f / 2, 1.0f / 6, 1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
inline constexpr float kTanhSmall = 0.625f;
// Cephes tanhf, |x| < 0.625: tanh x = x + x z P(z), z = x^2; P highest degree first.
inline constexpr float kTanhP[5] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f,
                                   -3.33332819422e-1f};
}  // namespace det

// The bodies. T provides V (floats), I (int32s), M (lane mask) and:
//   Set(float), ISet(int32), Add, Sub, Mul, Div, MinOf, MaxOf (as above),
//   Abs (clear the sign bit), SignOf (x & sign bit), OrBits (bitwise or),
//   Less(a, b) -> M, Select(M, a, b) (a where the mask is set),
//   AsInt / AsFloat (bit casts), IAdd, ISub, ISra1 (arithmetic >> 1), IShl23.
template <typename T>
inline typename T::V ExpBody(typename T::V x) {
  using V = typename T::V;
  using I = typename T::I;
  x = T::MinOf(T::Set(det::kExpHi), T::MaxOf(T::Set(det::kExpLo), x));
  const V magic = T::Set(det::kMagic);
  const V kn = T::Add(T::Mul(x, T::Set(det::kLog2e)), magic);
  const V n = T::Sub(kn, magic);
  const V r = T::Sub(T::Sub(x, T::Mul(n, T::Set(det::kLn2Hi))), T::Mul(n, T::Set(det::kLn2Lo)));
  V q = T::Set(det::kInvFact[5]);
  for (int i = 4; i >= 0; --i) q = T::Add(T::Mul(q, r), T::Set(det::kInvFact[i]));
  const V p = T::Add(T::Add(T::Mul(T::Mul(q, r), r), r), T::Set(1.0f));
  // n as an int32: kn's significand holds n + 2^22 (kn is in [2^23, 2^24)).
  const I ni = T::ISub(T::AsInt(kn), T::AsInt(magic));
  const I n1 = T::ISra1(ni);
  const I n2 = T::ISub(ni, n1);
  const V s1 = T::AsFloat(T::IShl23(T::IAdd(n1, T::ISet(127))));
  const V s2 = T::AsFloat(T::IShl23(T::IAdd(n2, T::ISet(127))));
  return T::Mul(T::Mul(p, s1), s2);
}

template <typename T>
inline typename T::V TanhBody(typename T::V x) {
  using V = typename T::V;
  // Both branches work on a = |x| and x's sign is put back at the end, so
  // DetTanh(-x) == -DetTanh(x) bit for bit and DetTanh(-0) = -0.
  const V a = T::Abs(x);
  // Small |x|: the odd polynomial a + (a z) P(z).
  const V z = T::Mul(a, a);
  V pz = T::Set(det::kTanhP[0]);
  for (int i = 1; i < 5; ++i) pz = T::Add(T::Mul(pz, z), T::Set(det::kTanhP[i]));
  const V small = T::Add(a, T::Mul(T::Mul(a, z), pz));
  // Large |x|: (1 - e) / (1 + e) with e = exp(-2|x|).
  const V one = T::Set(1.0f);
  const V e = ExpBody<T>(T::Mul(a, T::Set(-2.0f)));
  const V large = T::Div(T::Sub(one, e), T::Add(one, e));
  return T::OrBits(T::Select(T::Less(a, T::Set(det::kTanhSmall)), small, large), T::SignOf(x));
}

template <typename T>
inline typename T::V SigmoidBody(typename T::V x) {
  using V = typename T::V;
  const V one = T::Set(1.0f);
  const V e = ExpBody<T>(T::Sub(T::Set(0.0f), T::Abs(x)));
  return T::Div(T::Select(T::Less(x, T::Set(0.0f)), e, one), T::Add(one, e));
}

// One float per "vector": the scalar reference's traits (compiled with the
// x86-64 baseline flags wherever it is used).
struct ScalarF32 {
  using V = float;
  using I = std::int32_t;
  using M = bool;
  static V Set(float v) { return v; }
  static I ISet(std::int32_t v) { return v; }
  static V Add(V a, V b) { return a + b; }
  static V Sub(V a, V b) { return a - b; }
  static V Mul(V a, V b) { return a * b; }
  static V Div(V a, V b) { return a / b; }
  static V MinOf(V a, V b) { return a < b ? a : b; }
  static V MaxOf(V a, V b) { return a > b ? a : b; }
  static I AsInt(V v) {
    I i;
    std::memcpy(&i, &v, sizeof i);
    return i;
  }
  static V AsFloat(I i) {
    V v;
    std::memcpy(&v, &i, sizeof v);
    return v;
  }
  static V Abs(V v) { return AsFloat(AsInt(v) & 0x7fffffff); }
  static V SignOf(V v) { return AsFloat(static_cast<I>(static_cast<std::uint32_t>(AsInt(v)) & 0x80000000u)); }
  static V OrBits(V a, V b) { return AsFloat(AsInt(a) | AsInt(b)); }
  static M Less(V a, V b) { return a < b; }
  static V Select(M m, V a, V b) { return m ? a : b; }
  // int32 arithmetic as the vector instructions do it (modulo 2^32; here the
  // values never come near the limits).
  static I IAdd(I a, I b) { return static_cast<I>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b)); }
  static I ISub(I a, I b) { return static_cast<I>(static_cast<std::uint32_t>(a) - static_cast<std::uint32_t>(b)); }
  static I ISra1(I a) { return a >> 1; }  // arithmetic (C++20)
  static I IShl23(I a) { return static_cast<I>(static_cast<std::uint32_t>(a) << 23); }
};

inline float DetExp(float x) { return ExpBody<ScalarF32>(x); }
inline float DetTanh(float x) { return TanhBody<ScalarF32>(x); }
inline float DetSigmoid(float x) { return SigmoidBody<ScalarF32>(x); }

}  // namespace qualm::kernels::detail
