// tests/onnx/onnx_io_graph.cpp: GraphBuilder and the naive NCHW interpreter.
#include "onnx_io_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace qualm_onnx_io {

GraphBuilder::GraphBuilder(int opset) {
  m_.set_ir_version(7);
  m_.set_producer_name("qualm-tests");
  auto* o = m_.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m_.mutable_graph()->set_name("test");
}

static void Shape(onnx::ValueInfoProto* v, const std::string& name, std::int64_t batch,
                  const std::vector<std::int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = t->mutable_shape();
  if (batch < 0)
    s->add_dim()->set_dim_param("N");
  else
    s->add_dim()->set_dim_value(batch);
  for (auto d : dims) s->add_dim()->set_dim_value(d);
}

void GraphBuilder::Input(const std::string& name, std::int64_t batch, const std::vector<std::int64_t>& dims) {
  Shape(m_.mutable_graph()->add_input(), name, batch, dims);
}
void GraphBuilder::Output(const std::string& name, std::int64_t classes) {
  Shape(m_.mutable_graph()->add_output(), name, -1, {classes});
}
void GraphBuilder::Float(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
  auto* t = m_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  for (float x : v) t->add_float_data(x);
}
void GraphBuilder::Int(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                       const std::vector<std::int64_t>& v) {
  auto* t = m_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (auto d : dims) t->add_dims(d);
  for (auto x : v) {
    if (elem_type == onnx::TensorProto::INT64)
      t->add_int64_data(x);
    else
      t->add_int32_data(static_cast<std::int32_t>(x));
  }
}
void GraphBuilder::Node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::vector<Attr>& attrs) {
  auto* n = m_.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  for (const auto& a : attrs) {
    auto* p = n->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
      case Attr::kInt: p->set_type(onnx::AttributeProto::INT); p->set_i(a.i); break;
      case Attr::kFloat: p->set_type(onnx::AttributeProto::FLOAT); p->set_f(a.f); break;
      case Attr::kInts:
        p->set_type(onnx::AttributeProto::INTS);
        for (auto x : a.ints) p->add_ints(x);
        break;
      case Attr::kString: p->set_type(onnx::AttributeProto::STRING); p->set_s(a.s); break;
    }
  }
}
std::vector<float> GraphBuilder::Random(const std::string& name, const std::vector<std::int64_t>& dims, float r,
                                        std::mt19937& rng) {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  std::uniform_real_distribution<float> u(-r, r);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(rng);
  Float(name, dims, v);
  return v;
}
std::string GraphBuilder::QDQ(const std::string& x, float scale, int zero_point, bool uint8) {
  const std::string p = x + "_qdq" + std::to_string(counter_++);
  Float(p + "_s", {}, {scale});
  Int(p + "_z", uint8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8, {}, {zero_point});
  Node("QuantizeLinear", p + "_Q", {x, p + "_s", p + "_z"}, {p + "_q"});
  Node("DequantizeLinear", p + "_DQ", {p + "_q", p + "_s", p + "_z"}, {p + "_dq"});
  return p + "_dq";
}
std::string GraphBuilder::QWeight(const std::string& name, const std::vector<std::int64_t>& dims, std::mt19937& rng,
                                  std::vector<float>* scales) {
  std::int64_t per = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) per *= dims[i];
  std::uniform_int_distribution<int> q(-127, 127);
  std::uniform_real_distribution<float> s(0.002f, 0.02f);
  std::vector<std::int64_t> v(static_cast<std::size_t>(dims[0] * per));
  for (auto& x : v) x = q(rng);
  scales->resize(static_cast<std::size_t>(dims[0]));
  for (auto& x : *scales) x = s(rng);
  Int(name + "_q", onnx::TensorProto::INT8, dims, v);
  Float(name + "_s", {dims[0]}, *scales);
  Int(name + "_z", onnx::TensorProto::INT8, {dims[0]}, std::vector<std::int64_t>(static_cast<std::size_t>(dims[0]), 0));
  Node("DequantizeLinear", name + "_DQ", {name + "_q", name + "_s", name + "_z"}, {name}, {Attr::Int("axis", 0)});
  return name;
}
std::string GraphBuilder::QBias(const std::string& name, std::int64_t n, float s_in, const std::vector<float>& w_scales,
                                std::mt19937& rng) {
  std::uniform_int_distribution<int> q(-3000, 3000);
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::vector<float> s(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = q(rng), s[i] = s_in * w_scales[i];
  Int(name + "_q", onnx::TensorProto::INT32, {n}, v);
  Float(name + "_s", {n}, s);
  Int(name + "_z", onnx::TensorProto::INT32, {n}, std::vector<std::int64_t>(static_cast<std::size_t>(n), 0));
  Node("DequantizeLinear", name + "_DQ", {name + "_q", name + "_s", name + "_z"}, {name}, {Attr::Int("axis", 0)});
  return name;
}
std::string GraphBuilder::Bytes() const {
  std::string s;
  m_.SerializeToString(&s);
  return s;
}

std::vector<float> NchwToNhwc(const std::vector<float>& v, std::int64_t n, std::int64_t c, std::int64_t h,
                              std::int64_t w) {
  std::vector<float> out(v.size());
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < c; ++b)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((a * h + y) * w + x) * c + b] = v[((a * c + b) * h + y) * w + x];
  return out;
}

// ---------------------------------------------------------------------------
namespace {

std::int64_t Count(const std::vector<std::int64_t>& d) {
  std::int64_t n = 1;
  for (auto x : d) n *= x;
  return n;
}

NTensor Read(const onnx::TensorProto& t) {
  NTensor o;
  o.elem_type = t.data_type();
  o.dims.assign(t.dims().begin(), t.dims().end());
  const auto n = static_cast<std::size_t>(Count(o.dims));
  o.v.resize(n);
  const std::string& raw = t.raw_data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (o.elem_type) {
      case onnx::TensorProto::FLOAT: {
        float f;
        if (t.has_raw_data()) std::memcpy(&f, raw.data() + 4 * i, 4); else f = t.float_data(static_cast<int>(i));
        o.v[i] = f;
        break;
      }
      case onnx::TensorProto::INT8:
        o.v[i] = t.has_raw_data() ? static_cast<std::int8_t>(raw[i]) : t.int32_data(static_cast<int>(i));
        break;
      case onnx::TensorProto::UINT8:
        o.v[i] = t.has_raw_data() ? static_cast<std::uint8_t>(raw[i]) : t.int32_data(static_cast<int>(i));
        break;
      case onnx::TensorProto::INT32: {
        std::int32_t x;
        if (t.has_raw_data()) std::memcpy(&x, raw.data() + 4 * i, 4); else x = t.int32_data(static_cast<int>(i));
        o.v[i] = x;
        break;
      }
      case onnx::TensorProto::INT64: {
        std::int64_t x;
        if (t.has_raw_data()) std::memcpy(&x, raw.data() + 8 * i, 8); else x = t.int64_data(static_cast<int>(i));
        o.v[i] = static_cast<double>(x);
        break;
      }
      default: throw std::runtime_error("naive: tensor type");
    }
  }
  return o;
}

const onnx::AttributeProto* A(const onnx::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
std::int64_t AI(const onnx::NodeProto& n, const char* name, std::int64_t d) { auto* a = A(n, name); return a ? a->i() : d; }
double AF(const onnx::NodeProto& n, const char* name, double d) { auto* a = A(n, name); return a ? a->f() : d; }
std::vector<std::int64_t> AIs(const onnx::NodeProto& n, const char* name, std::vector<std::int64_t> d) {
  auto* a = A(n, name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : d;
}

// pads [top, left, bottom, right] for a 2-D window (explicit or auto_pad).
std::vector<std::int64_t> Pads(const onnx::NodeProto& n, std::int64_t h, std::int64_t w, std::int64_t kh,
                               std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t dh, std::int64_t dw) {
  const auto* ap = A(n, "auto_pad");
  const std::string mode = ap ? ap->s() : "NOTSET";
  if (mode == "VALID") return {0, 0, 0, 0};
  if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    std::vector<std::int64_t> p(4);
    const std::int64_t in[2] = {h, w}, k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
    for (int a = 0; a < 2; ++a) {
      const std::int64_t out = (in[a] + s[a] - 1) / s[a];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a]);
      p[a] = mode == "SAME_UPPER" ? total / 2 : total - total / 2;
      p[a + 2] = total - p[a];
    }
    return p;
  }
  return AIs(n, "pads", {0, 0, 0, 0});
}

NTensor Window(const onnx::NodeProto& n, const NTensor& x, const NTensor* wt, const NTensor* b) {
  const std::string op = n.op_type();
  const std::int64_t N = x.dims[0], C = x.dims[1], H = x.dims[2], W = x.dims[3];
  std::vector<std::int64_t> k = wt ? std::vector<std::int64_t>{wt->dims[2], wt->dims[3]} : AIs(n, "kernel_shape", {});
  const auto s = AIs(n, "strides", {1, 1});
  const auto d = AIs(n, "dilations", {1, 1});
  const auto p = Pads(n, H, W, k[0], k[1], s[0], s[1], d[0], d[1]);
  const std::int64_t OH = (H + p[0] + p[2] - ((k[0] - 1) * d[0] + 1)) / s[0] + 1;
  const std::int64_t OW = (W + p[1] + p[3] - ((k[1] - 1) * d[1] + 1)) / s[1] + 1;
  const std::int64_t G = AI(n, "group", 1);
  const std::int64_t O = wt ? wt->dims[0] : C;
  NTensor y{{N, O, OH, OW}, std::vector<double>(static_cast<std::size_t>(N * O * OH * OW)), onnx::TensorProto::FLOAT};
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t oy = 0; oy < OH; ++oy)
        for (std::int64_t ox = 0; ox < OW; ++ox) {
          double acc = op == "MaxPool" ? -std::numeric_limits<double>::infinity() : 0.0;
          std::int64_t cnt = 0;
          const std::int64_t cg = wt ? wt->dims[1] : 1;
          for (std::int64_t cc = 0; cc < cg; ++cc) {
            const std::int64_t c = wt ? (o / (O / G)) * cg + cc : o;
            for (std::int64_t ky = 0; ky < k[0]; ++ky)
              for (std::int64_t kx = 0; kx < k[1]; ++kx) {
                const std::int64_t yy = oy * s[0] - p[0] + ky * d[0], xx = ox * s[1] - p[1] + kx * d[1];
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                const double v = x.v[static_cast<std::size_t>(((i * C + c) * H + yy) * W + xx)];
                if (wt)
                  acc += v * wt->v[static_cast<std::size_t>(((o * cg + cc) * k[0] + ky) * k[1] + kx)];
                else if (op == "MaxPool")
                  acc = std::max(acc, v);
                else
                  acc += v;
                ++cnt;
              }
          }
          if (op == "AveragePool") acc /= AI(n, "count_include_pad", 0) ? static_cast<double>(k[0] * k[1]) : static_cast<double>(cnt);
          if (b) acc += b->v[static_cast<std::size_t>(o)];
          y.v[static_cast<std::size_t>(((i * O + o) * OH + oy) * OW + ox)] = acc;
        }
  return y;
}

// Numpy broadcasting, right-aligned.
NTensor Broadcast2(const NTensor& a, const NTensor& b) {
  const std::size_t r = std::max(a.dims.size(), b.dims.size());
  std::vector<std::int64_t> da(r, 1), db(r, 1), d(r);
  std::copy(a.dims.begin(), a.dims.end(), da.begin() + static_cast<long>(r - a.dims.size()));
  std::copy(b.dims.begin(), b.dims.end(), db.begin() + static_cast<long>(r - b.dims.size()));
  for (std::size_t i = 0; i < r; ++i) d[i] = std::max(da[i], db[i]);
  NTensor y{d, std::vector<double>(static_cast<std::size_t>(Count(d))), onnx::TensorProto::FLOAT};
  for (std::int64_t idx = 0; idx < Count(d); ++idx) {
    std::int64_t rem = idx, ia = 0, ib = 0, sa = 1, sb = 1;
    for (std::size_t k = r; k-- > 0;) {
      const std::int64_t c = rem % d[k];
      rem /= d[k];
      ia += (da[k] == 1 ? 0 : c) * sa;
      ib += (db[k] == 1 ? 0 : c) * sb;
      sa *= da[k];
      sb *= db[k];
    }
    y.v[static_cast<std::size_t>(idx)] = a.v[static_cast<std::size_t>(ia)] + b.v[static_cast<std::size_t>(ib)];
  }
  return y;
}

double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// ONNX LSTM (gates i, o, f, c) / GRU (z, r, h), forward, layout = 1 ([N, T, I]),
// zero initial state; returns Y_h as [N, 1, H].
NTensor Recurrent(const onnx::NodeProto& n, const NTensor& x, const NTensor& W, const NTensor& R, const NTensor* B) {
  const bool lstm = n.op_type() == "LSTM";
  const std::int64_t H = AI(n, "hidden_size", 0), N = x.dims[0], T = x.dims[1], I = x.dims[2];
  const std::int64_t G = lstm ? 4 : 3;
  const bool lbr = AI(n, "linear_before_reset", 0) != 0;
  NTensor y{{N, 1, H}, std::vector<double>(static_cast<std::size_t>(N * H)), 1};
  auto b = [&](std::int64_t k) { return B ? B->v[static_cast<std::size_t>(k)] : 0.0; };
  for (std::int64_t s = 0; s < N; ++s) {
    std::vector<double> h(static_cast<std::size_t>(H), 0.0), c(static_cast<std::size_t>(H), 0.0);
    for (std::int64_t t = 0; t < T; ++t) {
      std::vector<double> wx(static_cast<std::size_t>(G * H)), rh(static_cast<std::size_t>(G * H));
      for (std::int64_t r = 0; r < G * H; ++r) {
        double a = 0, q = 0;
        for (std::int64_t k = 0; k < I; ++k) a += W.v[static_cast<std::size_t>(r * I + k)] * x.v[static_cast<std::size_t>((s * T + t) * I + k)];
        for (std::int64_t k = 0; k < H; ++k) q += R.v[static_cast<std::size_t>(r * H + k)] * h[static_cast<std::size_t>(k)];
        wx[static_cast<std::size_t>(r)] = a + b(r);
        rh[static_cast<std::size_t>(r)] = q + b(G * H + r);
      }
      std::vector<double> hn(static_cast<std::size_t>(H));
      for (std::int64_t j = 0; j < H; ++j) {
        auto at = [&](const std::vector<double>& v, std::int64_t gate) { return v[static_cast<std::size_t>(gate * H + j)]; };
        const auto jj = static_cast<std::size_t>(j);
        if (lstm) {
          const double i = Sigmoid(at(wx, 0) + at(rh, 0)), o = Sigmoid(at(wx, 1) + at(rh, 1));
          const double f = Sigmoid(at(wx, 2) + at(rh, 2)), g = std::tanh(at(wx, 3) + at(rh, 3));
          c[jj] = f * c[jj] + i * g;
          hn[jj] = o * std::tanh(c[jj]);
        } else {
          const double z = Sigmoid(at(wx, 0) + at(rh, 0)), r = Sigmoid(at(wx, 1) + at(rh, 1));
          if (!lbr) throw std::runtime_error("naive: GRU linear_before_reset=0");
          const double hh = std::tanh(at(wx, 2) + r * at(rh, 2));
          hn[jj] = (1 - z) * hh + z * h[jj];
        }
      }
      h = hn;
    }
    for (std::int64_t j = 0; j < H; ++j) y.v[static_cast<std::size_t>(s * H + j)] = h[static_cast<std::size_t>(j)];
  }
  return y;
}

}  // namespace

NTensor NaiveRun(const onnx::ModelProto& m, const NTensor& input) {
  std::map<std::string, NTensor> v;
  for (const auto& t : m.graph().initializer()) v[t.name()] = Read(t);
  for (const auto& i : m.graph().input())
    if (!v.count(i.name())) v[i.name()] = input;
  auto in = [&](const onnx::NodeProto& n, int i) -> const NTensor* {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    auto it = v.find(n.input(i));
    if (it == v.end()) throw std::runtime_error("naive: missing value " + n.input(i));
    return &it->second;
  };
  for (const auto& n : m.graph().node()) {
    const std::string op = n.op_type();
    const NTensor* x = in(n, 0);
    NTensor y;
    if (op == "Constant") {
      y = Read(A(n, "value")->t());
    } else if (op == "Conv") {
      y = Window(n, *x, in(n, 1), in(n, 2));
    } else if (op == "MaxPool" || op == "AveragePool") {
      y = Window(n, *x, nullptr, nullptr);
    } else if (op == "GlobalAveragePool") {
      const std::int64_t N = x->dims[0], C = x->dims[1], HW = x->dims[2] * x->dims[3];
      y = {{N, C, 1, 1}, std::vector<double>(static_cast<std::size_t>(N * C)), 1};
      for (std::int64_t i = 0; i < N * C; ++i) {
        double s = 0;
        for (std::int64_t k = 0; k < HW; ++k) s += x->v[static_cast<std::size_t>(i * HW + k)];
        y.v[static_cast<std::size_t>(i)] = s / static_cast<double>(HW);
      }
    } else if (op == "Relu" || op == "Clip") {
      double lo = op == "Relu" ? 0.0 : -INFINITY, hi = INFINITY;
      if (op == "Clip") {
        if (const NTensor* a = in(n, 1)) lo = a->v[0];
        if (const NTensor* a = in(n, 2)) hi = a->v[0];
        lo = AF(n, "min", lo), hi = AF(n, "max", hi);
      }
      y = *x;
      for (auto& e : y.v) e = std::min(std::max(e, lo), hi);
    } else if (op == "Flatten" || op == "Reshape") {
      y = *x;
      const std::int64_t N = x->dims[0];
      y.dims = {N, Count(x->dims) / N};
    } else if (op == "Gemm" || op == "MatMul") {
      const NTensor& b = *in(n, 1);
      const bool ta = AI(n, "transA", 0) != 0, tb = AI(n, "transB", 0) != 0;
      const std::int64_t M = ta ? x->dims[1] : x->dims[0], K = ta ? x->dims[0] : x->dims[1];
      const std::int64_t Nn = tb ? b.dims[0] : b.dims[1];
      const double alpha = AF(n, "alpha", 1.0), beta = AF(n, "beta", 1.0);
      const NTensor* c = op == "Gemm" ? in(n, 2) : nullptr;
      y = {{M, Nn}, std::vector<double>(static_cast<std::size_t>(M * Nn)), 1};
      for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < Nn; ++j) {
          double s = 0;
          for (std::int64_t k = 0; k < K; ++k)
            s += x->v[static_cast<std::size_t>(ta ? k * M + i : i * K + k)] *
                 b.v[static_cast<std::size_t>(tb ? j * K + k : k * Nn + j)];
          s *= alpha;
          if (c) s += beta * c->v[static_cast<std::size_t>(c->v.size() == 1 ? 0 : j)];
          y.v[static_cast<std::size_t>(i * Nn + j)] = s;
        }
    } else if (op == "Add") {
      y = Broadcast2(*x, *in(n, 1));
    } else if (op == "BatchNormalization") {
      const double eps = AF(n, "epsilon", 1e-5);
      y = *x;
      const std::int64_t C = x->dims[1], inner = Count(x->dims) / (x->dims[0] * C);
      for (std::size_t i = 0; i < y.v.size(); ++i) {
        const auto c = static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % C);
        y.v[i] = (y.v[i] - in(n, 3)->v[c]) / std::sqrt(in(n, 4)->v[c] + eps) * in(n, 1)->v[c] + in(n, 2)->v[c];
      }
    } else if (op == "Softmax") {
      y = *x;
      const std::int64_t F = x->dims.back();
      for (std::int64_t r = 0; r < Count(x->dims) / F; ++r) {
        double mx = -INFINITY, s = 0;
        for (std::int64_t j = 0; j < F; ++j) mx = std::max(mx, y.v[static_cast<std::size_t>(r * F + j)]);
        for (std::int64_t j = 0; j < F; ++j) s += std::exp(y.v[static_cast<std::size_t>(r * F + j)] - mx);
        for (std::int64_t j = 0; j < F; ++j)
          y.v[static_cast<std::size_t>(r * F + j)] = std::exp(y.v[static_cast<std::size_t>(r * F + j)] - mx) / s;
      }
    } else if (op == "Gather") {
      const NTensor& t = *x;
      const NTensor& ids = *in(n, 1);
      const std::int64_t D = t.dims[1];
      y = {ids.dims, {}, 1};
      y.dims.push_back(D);
      for (double id : ids.v)
        for (std::int64_t j = 0; j < D; ++j) y.v.push_back(t.v[static_cast<std::size_t>(static_cast<std::int64_t>(id) * D + j)]);
    } else if (op == "LSTM" || op == "GRU") {
      y = Recurrent(n, *x, *in(n, 1), *in(n, 2), in(n, 3));
    } else if (op == "Dropout" || op == "Identity") {
      y = *x;
    } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
      const NTensor& s = *in(n, 1);
      const NTensor* z = in(n, 2);
      y = *x;
      std::int64_t axis = AI(n, "axis", 1);
      if (axis < 0) axis += static_cast<std::int64_t>(x->dims.size());
      std::int64_t inner = 1;
      for (std::size_t k = static_cast<std::size_t>(axis) + 1; k < x->dims.size(); ++k) inner *= x->dims[k];
      const bool u8 = z ? z->elem_type == onnx::TensorProto::UINT8 : op == "QuantizeLinear";
      for (std::size_t i = 0; i < y.v.size(); ++i) {
        const std::size_t k = s.v.size() == 1 ? 0 : static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % static_cast<std::int64_t>(s.v.size()));
        const double zp = z ? z->v[k] : 0.0;
        const auto sc = static_cast<float>(s.v[k]);
        if (op == "QuantizeLinear") {
          // float division, round half to even, saturate (the ONNX definition)
          const double q = std::nearbyint(static_cast<double>(static_cast<float>(x->v[i]) / sc)) + zp;
          y.v[i] = std::min(std::max(q, u8 ? 0.0 : -128.0), u8 ? 255.0 : 127.0);
        } else {
          y.v[i] = static_cast<double>(static_cast<float>(x->v[i] - zp) * sc);
        }
      }
      y.elem_type = op == "QuantizeLinear" ? (u8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8)
                                          : onnx::TensorProto::FLOAT;
    } else {
      throw std::runtime_error("naive: op " + op);
    }
    v[n.output(op == "LSTM" || op == "GRU" ? 1 : 0)] = std::move(y);  // LSTM / GRU: Y_h
  }
  return v.at(m.graph().output(0).name());
}

}  // namespace qualm_onnx_io
