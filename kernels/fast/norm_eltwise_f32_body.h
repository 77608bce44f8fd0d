// fast/norm_eltwise_f32_body.h (private): the bodies of the fast float
// batch-norm and elementwise kernels (detail/norm_eltwise_f32_variants.h),
// written once over a vector "traits" type T and included into each ISA's
// translation unit inside an anonymous namespace (as gemm_f32_driver.h), so
// that the arithmetic and the tail handling cannot drift apart between ISAs.
//
// T provides: V (the vector), kW (lanes), Zero(), Load(p), Store(p, v),
// LoadN(p, lanes) / StoreN(p, v, lanes) (the first `lanes` lanes; the others
// read as 0 and are not written), Add, Sub, Mul, and PositiveOr0(x, v)
// (v where x > 0, else +0.0f: the select of ref::relu_f32 / relu_backward_f32).
// Each is one IEEE operation per lane, so a lane computes exactly what the
// reference computes for its element.
//
// Column kernels: a window of nc channels is cut into blocks of 4, 3, 2 or 1
// full vectors (the block's accumulators stay in registers across the row
// loop) and one partial vector; each block makes its own pass over the rows.

namespace body {

template <typename T, int N, bool kPartial>
struct Cols {
  static constexpr int kN = N;
  int c;      // first channel of the block
  int lanes;  // lanes of the last vector when kPartial
  typename T::V Load(const float* p, int v) const {
    if constexpr (kPartial) return T::LoadN(p + c, lanes);
    else return T::Load(p + c + v * T::kW);
  }
  void Store(float* p, int v, typename T::V x) const {
    if constexpr (kPartial) T::StoreN(p + c, x, lanes);
    else T::Store(p + c + v * T::kW, x);
  }
};

// Calls f.template operator()<N, kPartial>(Cols) for each block of [0, nc).
template <typename T, typename F>
inline void ForBlocks(int nc, F&& f) {
  int c = 0;
  for (; c + 4 * T::kW <= nc; c += 4 * T::kW) f(Cols<T, 4, false>{c, T::kW});
  const int rest = (nc - c) / T::kW;
  if (rest == 3) f(Cols<T, 3, false>{c, T::kW});
  if (rest == 2) f(Cols<T, 2, false>{c, T::kW});
  if (rest == 1) f(Cols<T, 1, false>{c, T::kW});
  c += rest * T::kW;
  if (c < nc) f(Cols<T, 1, true>{c, nc - c});
}

template <typename T>
void Sum(const NormRows& w, const float* x, float* acc) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V s[N];
    for (int v = 0; v < N; ++v) s[v] = b.Load(acc, v);
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* xp = x + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v) s[v] = T::Add(s[v], b.Load(xp, v));
    }
    for (int v = 0; v < N; ++v) b.Store(acc, v, s[v]);
  });
}

template <typename T>
void SumSqDev(const NormRows& w, const float* x, const float* mean, float* acc) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V s[N], m[N];
    for (int v = 0; v < N; ++v) s[v] = b.Load(acc, v), m[v] = b.Load(mean, v);
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* xp = x + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v) {
        const typename T::V d = T::Sub(b.Load(xp, v), m[v]);
        s[v] = T::Add(s[v], T::Mul(d, d));
      }
    }
    for (int v = 0; v < N; ++v) b.Store(acc, v, s[v]);
  });
}

template <typename T>
void SumDyDyx(const NormRows& w, const float* x, const float* dy, const float* mean, const float* invstd,
              float* sum_dy, float* sum_dyx) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V s1[N], s2[N], m[N], is[N];
    for (int v = 0; v < N; ++v)
      s1[v] = b.Load(sum_dy, v), s2[v] = b.Load(sum_dyx, v), m[v] = b.Load(mean, v), is[v] = b.Load(invstd, v);
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* xp = x + r * w.ld;
      const float* dyp = dy + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v) {
        const typename T::V g = b.Load(dyp, v);
        const typename T::V xhat = T::Mul(T::Sub(b.Load(xp, v), m[v]), is[v]);
        s1[v] = T::Add(s1[v], g);
        s2[v] = T::Add(s2[v], T::Mul(g, xhat));
      }
    }
    for (int v = 0; v < N; ++v) b.Store(sum_dy, v, s1[v]), b.Store(sum_dyx, v, s2[v]);
  });
}

template <typename T>
void Affine(const NormRows& w, const float* x, const float* mean, const float* invstd, const float* g,
            const float* bt, float* y) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V m[N], is[N], gv[N], bv[N];
    for (int v = 0; v < N; ++v)
      m[v] = b.Load(mean, v), is[v] = b.Load(invstd, v), gv[v] = b.Load(g, v), bv[v] = b.Load(bt, v);
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* xp = x + r * w.ld;
      float* yp = y + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v)
        b.Store(yp, v, T::Add(T::Mul(T::Mul(T::Sub(b.Load(xp, v), m[v]), is[v]), gv[v]), bv[v]));
    }
  });
}

// kAssign (the *_assign kernels): dx = 0.0f + term instead of dx + term, the
// bits of accumulating into a zeroed dx, without reading or zeroing dx.
template <typename T, bool kAssign>
void BnDx(const NormRows& w, const float* x, const float* dy, const float* mean, const float* invstd,
          const float* k, const float* mean_dy, const float* mean_dyx, float* dx) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V m[N], is[N], kv[N], md[N], mdx[N];
    for (int v = 0; v < N; ++v) {
      m[v] = b.Load(mean, v), is[v] = b.Load(invstd, v), kv[v] = b.Load(k, v);
      md[v] = b.Load(mean_dy, v), mdx[v] = b.Load(mean_dyx, v);
    }
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* xp = x + r * w.ld;
      const float* dyp = dy + r * w.ld;
      float* dxp = dx + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v) {
        const typename T::V xhat = T::Mul(T::Sub(b.Load(xp, v), m[v]), is[v]);
        const typename T::V t = T::Sub(T::Sub(b.Load(dyp, v), md[v]), T::Mul(xhat, mdx[v]));
        const typename T::V term = T::Mul(kv[v], t);
        if constexpr (kAssign) b.Store(dxp, v, T::Add(T::Zero(), term));
        else b.Store(dxp, v, T::Add(b.Load(dxp, v), term));
      }
    }
  });
}

template <typename T, bool kAssign>
void ScaleAcc(const NormRows& w, const float* dy, const float* k, float* dx) {
  ForBlocks<T>(w.nc, [&](const auto& b) {
    constexpr int N = std::decay_t<decltype(b)>::kN;
    typename T::V kv[N];
    for (int v = 0; v < N; ++v) kv[v] = b.Load(k, v);
    for (std::int64_t r = w.r0; r < w.r1; ++r) {
      const float* dyp = dy + r * w.ld;
      float* dxp = dx + r * w.ld;
#pragma GCC unroll 4
      for (int v = 0; v < N; ++v) {
        const typename T::V term = T::Mul(b.Load(dyp, v), kv[v]);
        if constexpr (kAssign) b.Store(dxp, v, T::Add(T::Zero(), term));
        else b.Store(dxp, v, T::Add(b.Load(dxp, v), term));
      }
    }
  });
}

// Elementwise: 4 vectors per step, then single vectors, then one partial vector.
template <typename T, typename F>
inline void ForElements(std::size_t n, F&& f) {
  constexpr std::size_t W = T::kW;
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
#pragma GCC unroll 4
    for (std::size_t v = 0; v < 4; ++v) f(i + v * W, T::kW);
  }
  for (; i + W <= n; i += W) f(i, T::kW);
  if (i < n) f(i, static_cast<int>(n - i));
}

template <typename T>
inline typename T::V LoadL(const float* p, int lanes) {
  return lanes == T::kW ? T::Load(p) : T::LoadN(p, lanes);
}
template <typename T>
inline void StoreL(float* p, typename T::V v, int lanes) {
  if (lanes == T::kW) T::Store(p, v);
  else T::StoreN(p, v, lanes);
}

template <typename T>
void Relu(std::size_t n, const float* x, float* y) {
  ForElements<T>(n, [&](std::size_t i, int l) {
    const typename T::V xv = LoadL<T>(x + i, l);
    StoreL<T>(y + i, T::PositiveOr0(xv, xv), l);
  });
}

template <typename T, bool kAssign>
void ReluBackward(std::size_t n, const float* x, const float* dy, float* dx) {
  ForElements<T>(n, [&](std::size_t i, int l) {
    const typename T::V g = T::PositiveOr0(LoadL<T>(x + i, l), LoadL<T>(dy + i, l));
    StoreL<T>(dx + i, T::Add(kAssign ? T::Zero() : LoadL<T>(dx + i, l), g), l);
  });
}

template <typename T>
void Add(std::size_t n, const float* a, const float* b, float* y) {
  ForElements<T>(n, [&](std::size_t i, int l) { StoreL<T>(y + i, T::Add(LoadL<T>(a + i, l), LoadL<T>(b + i, l)), l); });
}

template <typename T>
void Accumulate(std::size_t n, const float* src, float* dst) {
  ForElements<T>(n, [&](std::size_t i, int l) {
    StoreL<T>(dst + i, T::Add(LoadL<T>(dst + i, l), LoadL<T>(src + i, l)), l);
  });
}

template <typename T>
NormEltwiseF32Variant MakeVariant(Isa isa, const char* name) {
  NormEltwiseF32Variant v{};
  v.isa = isa;
  v.name = name;
  v.sum = &Sum<T>;
  v.sum_sq_dev = &SumSqDev<T>;
  v.sum_dy_dyx = &SumDyDyx<T>;
  v.affine = &Affine<T>;
  v.bn_dx = &BnDx<T, false>;
  v.bn_dx_assign = &BnDx<T, true>;
  v.scale_acc = &ScaleAcc<T, false>;
  v.scale_assign = &ScaleAcc<T, true>;
  v.relu = &Relu<T>;
  v.relu_backward = &ReluBackward<T, false>;
  v.relu_backward_assign = &ReluBackward<T, true>;
  v.add = &Add<T>;
  v.accumulate = &Accumulate<T>;
  return v;
}

}  // namespace body
