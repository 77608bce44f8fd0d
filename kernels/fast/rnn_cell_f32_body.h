// fast/rnn_cell_f32_body.h (private): the vectorized LSTM / GRU cells of
// detail/rnn_cell_f32_variants.h, written once over a vector traits type T and
// included into each SIMD ISA's translation unit inside an anonymous namespace
// (as norm_eltwise_f32_body.h), so that no ISA's copy can drift from another.
//
// T provides everything det_math.h's bodies need (ExpBody, TanhBody,
// SigmoidBody) plus kW (lanes), Zero(), Load(p) / Store(p, v) and
// LoadN(p, lanes) / StoreN(p, v, lanes) (the first `lanes` lanes; the others
// read as 0 and are not written).
//
// Each function below is the reference cell of internal/rnn_cell.h with j
// replaced by a block of kW consecutive j: the same expressions, parenthesized
// as C++ parses the reference's (a * b * c is (a * b) * c), so every lane
// rounds exactly as the reference does for its element. Keep the two in step:
// tests/kernels/rnn_cell_f32_test.cpp compares them bit for bit.

namespace body {

// Calls f(j, lanes) for each block of the hidden index: full vectors, then one
// partial vector.
template <typename T, typename F>
inline void ForHidden(std::int64_t H, F&& f) {
  std::int64_t j = 0;
  for (; j + T::kW <= H; j += T::kW) f(j, T::kW);
  if (j < H) f(j, static_cast<int>(H - j));
}

template <typename T>
inline typename T::V Ld(const float* p, int lanes) {
  return lanes == T::kW ? T::Load(p) : T::LoadN(p, lanes);
}
template <typename T>
inline void St(float* p, typename T::V v, int lanes) {
  if (lanes == T::kW) T::Store(p, v);
  else T::StoreN(p, v, lanes);
}

template <typename T>
void LstmForward(std::int64_t H, float* zg, const float* c_prev, float* c, float* h) {
  using V = typename T::V;
  ForHidden<T>(H, [&](std::int64_t j, int l) {
    const V i = SigmoidBody<T>(Ld<T>(zg + j, l));
    const V f = SigmoidBody<T>(Ld<T>(zg + H + j, l));
    const V g = TanhBody<T>(Ld<T>(zg + 2 * H + j, l));
    const V o = SigmoidBody<T>(Ld<T>(zg + 3 * H + j, l));
    const V cp = c_prev ? Ld<T>(c_prev + j, l) : T::Zero();
    const V cj = T::Add(T::Mul(f, cp), T::Mul(i, g));
    St<T>(zg + j, i, l), St<T>(zg + H + j, f, l), St<T>(zg + 2 * H + j, g, l), St<T>(zg + 3 * H + j, o, l);
    St<T>(c + j, cj, l);
    St<T>(h + j, T::Mul(o, TanhBody<T>(cj)), l);
  });
}

template <typename T>
void LstmBackward(std::int64_t H, const float* gates, const float* c, const float* c_prev, const float* dh,
                  float* dc, float* dz) {
  using V = typename T::V;
  const V one = T::Set(1.0f);
  ForHidden<T>(H, [&](std::int64_t j, int l) {
    const V i = Ld<T>(gates + j, l), f = Ld<T>(gates + H + j, l), g = Ld<T>(gates + 2 * H + j, l),
            o = Ld<T>(gates + 3 * H + j, l);
    const V tc = TanhBody<T>(Ld<T>(c + j, l));
    const V cp = c_prev ? Ld<T>(c_prev + j, l) : T::Zero();
    const V dhj = Ld<T>(dh + j, l);
    // dct = dc + dh * o * (1 - tc * tc)
    const V dct = T::Add(Ld<T>(dc + j, l), T::Mul(T::Mul(dhj, o), T::Sub(one, T::Mul(tc, tc))));
    St<T>(dz + j, T::Mul(T::Mul(T::Mul(dct, g), i), T::Sub(one, i)), l);
    St<T>(dz + H + j, T::Mul(T::Mul(T::Mul(dct, cp), f), T::Sub(one, f)), l);
    St<T>(dz + 2 * H + j, T::Mul(T::Mul(dct, i), T::Sub(one, T::Mul(g, g))), l);
    St<T>(dz + 3 * H + j, T::Mul(T::Mul(T::Mul(dhj, tc), o), T::Sub(one, o)), l);
    St<T>(dc + j, T::Mul(dct, f), l);
  });
}

template <typename T>
void GruForward(std::int64_t H, float* gx, const float* hh, const float* h_prev, float* h, float* hn) {
  using V = typename T::V;
  const V one = T::Set(1.0f);
  ForHidden<T>(H, [&](std::int64_t j, int l) {
    const V z = SigmoidBody<T>(T::Add(Ld<T>(gx + j, l), Ld<T>(hh + j, l)));
    const V r = SigmoidBody<T>(T::Add(Ld<T>(gx + H + j, l), Ld<T>(hh + H + j, l)));
    const V hh_n = Ld<T>(hh + 2 * H + j, l);
    const V n = TanhBody<T>(T::Add(Ld<T>(gx + 2 * H + j, l), T::Mul(r, hh_n)));
    const V hp = h_prev ? Ld<T>(h_prev + j, l) : T::Zero();
    St<T>(gx + j, z, l), St<T>(gx + H + j, r, l), St<T>(gx + 2 * H + j, n, l);
    if (hn) St<T>(hn + j, hh_n, l);
    St<T>(h + j, T::Add(T::Mul(T::Sub(one, z), n), T::Mul(z, hp)), l);
  });
}

template <typename T>
void GruBackward(std::int64_t H, const float* gates, const float* hn, const float* h_prev, const float* dh,
                 float* dgx, float* dhh, float* dh_direct) {
  using V = typename T::V;
  const V one = T::Set(1.0f);
  ForHidden<T>(H, [&](std::int64_t j, int l) {
    const V z = Ld<T>(gates + j, l), r = Ld<T>(gates + H + j, l), n = Ld<T>(gates + 2 * H + j, l);
    const V hp = h_prev ? Ld<T>(h_prev + j, l) : T::Zero();
    const V dhj = Ld<T>(dh + j, l);
    const V dn = T::Mul(T::Mul(dhj, T::Sub(one, z)), T::Sub(one, T::Mul(n, n)));
    const V dzp = T::Mul(T::Mul(T::Mul(dhj, T::Sub(hp, n)), z), T::Sub(one, z));
    const V drp = T::Mul(T::Mul(T::Mul(dn, Ld<T>(hn + j, l)), r), T::Sub(one, r));
    St<T>(dgx + j, dzp, l), St<T>(dgx + H + j, drp, l), St<T>(dgx + 2 * H + j, dn, l);
    St<T>(dhh + j, dzp, l), St<T>(dhh + H + j, drp, l), St<T>(dhh + 2 * H + j, T::Mul(dn, r), l);
    St<T>(dh_direct + j, T::Mul(dhj, z), l);
  });
}

template <typename T, typename T::V (*F)(typename T::V)>
void Apply(std::size_t n, const float* x, float* y) {
  ForHidden<T>(static_cast<std::int64_t>(n), [&](std::int64_t j, int l) { St<T>(y + j, F(Ld<T>(x + j, l)), l); });
}

template <typename T>
RnnCellF32Variant MakeVariant(Isa isa, const char* name) {
  RnnCellF32Variant v{};
  v.isa = isa;
  v.name = name;
  v.exp = &Apply<T, &ExpBody<T>>;
  v.tanh = &Apply<T, &TanhBody<T>>;
  v.sigmoid = &Apply<T, &SigmoidBody<T>>;
  v.lstm_forward = &LstmForward<T>;
  v.lstm_backward = &LstmBackward<T>;
  v.gru_forward = &GruForward<T>;
  v.gru_backward = &GruBackward<T>;
  return v;
}

}  // namespace body
