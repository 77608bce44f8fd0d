// kernels/onednn/primitives.cpp: the oneDNN path (onednn.h), compiled only
// when the build has oneDNN (QUALM_WITH_ONEDNN=ON; absent.cpp otherwise).
//
// One class, OneDnnOp, holds everything both op kinds and both data types
// share: the engine and stream, one primitive per prepared batch size (onednn.h
// says why), the weights reordered once per distinct layout the primitives ask
// for, and memory objects whose data handles Run points at the caller's
// buffers. Convolutions are oneDNN convolutions (NHWC activations, OHWI /
// GOHWI weights); dense layers are oneDNN matmuls (x [n][in] times W^T, with
// qualm's [out][in] weights described as the in x out matrix in `ba` order),
// because oneDNN's inner product takes no zero points.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "primitive_cache.h"
#include "qualm/kernels/onednn.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm::kernels::onednn {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The op's shape: a convolution, or a dense layer (conv fields unused but
// batch, in_c = in_features, out_c = out_features).
struct Geometry {
  bool dense = false;
  Conv2dParams conv;
  std::int64_t in_sample = 0, out_sample = 0;  // elements per sample
};

Geometry ConvGeometry(const Conv2dParams& p) {
  Geometry g;
  g.conv = p;
  g.in_sample = std::int64_t{p.in_h} * p.in_w * p.in_c;
  g.out_sample = std::int64_t{p.out_h()} * p.out_w() * p.out_c;
  return g;
}

Geometry DenseGeometry(const DenseParams& p) {
  Geometry g;
  g.dense = true;
  g.conv.batch = p.batch;
  g.conv.in_c = p.in_features;
  g.conv.out_c = p.out_features;
  g.in_sample = p.in_features;
  g.out_sample = p.out_features;
  return g;
}

// What the caller's data looks like and what the primitive computes.
struct Types {
  dt src, wei, dst, bias;  // bias: dt::undef when the primitive takes none
};

// The int8 attributes of one op (zero points as run-time arguments).
struct Int8Attr {
  bool src_zero_point = false;  // always for int8
  bool native = false;          // kNativeScales: scales, dst zero point, clip post-op
  std::vector<float> scales;
  float clip_lo = 0, clip_hi = 0;
};

memory::desc UserWeightsDesc(const Geometry& g, dt type) {
  const Conv2dParams& p = g.conv;
  if (g.dense) return memory::desc({p.in_c, p.out_c}, type, tag::ba);  // K x N, stored [N][K]
  if (p.groups == 1) return memory::desc({p.out_c, p.in_c, p.kernel_h, p.kernel_w}, type, tag::ohwi);
  return memory::desc({p.groups, p.out_c / p.groups, p.in_c / p.groups, p.kernel_h, p.kernel_w}, type, tag::gohwi);
}

memory::desc ActivationDesc(const Geometry& g, int batch, bool input, dt type) {
  const Conv2dParams& p = g.conv;
  if (g.dense) return memory::desc({batch, input ? p.in_c : p.out_c}, type, tag::ab);
  if (input) return memory::desc({batch, p.in_c, p.in_h, p.in_w}, type, tag::nhwc);
  return memory::desc({batch, p.out_c, p.out_h(), p.out_w()}, type, tag::nhwc);
}

class OneDnnOp {
 public:
  OneDnnOp() : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {}

  Status Build(const Geometry& g, const Types& t, const void* w, const void* bias, const Int8Attr& a,
               bool require_exact_weights, int threads) {
    g_ = g;
    threads_ = threads;
    omp_set_num_threads(threads);
    try {
      dnnl::primitive_attr attr;
      if (a.src_zero_point) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      if (a.native) {
        attr.set_output_scales(1 << 1, a.scales);  // dim 1: output channels (conv) / columns (matmul)
        attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
        dnnl::post_ops po;
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.clip_lo, a.clip_hi);
        attr.set_post_ops(po);
      }
      const memory::desc user_w = UserWeightsDesc(g, t.wei);
      memory::desc bias_md;
      if (t.bias != dt::undef) {
        bias_md = g.dense ? memory::desc({1, g.conv.out_c}, t.bias, tag::ab) : memory::desc({g.conv.out_c}, t.bias, tag::a);
        bias_ = memory(bias_md, eng_);
        const std::size_t bytes = static_cast<std::size_t>(g.conv.out_c) * 4;  // f32 or s32
        std::memcpy(bias_.get_data_handle(), bias, bytes);
      }
      if (a.src_zero_point) zp_src_ = memory({{1}, dt::s32, tag::x}, eng_);
      if (a.native) zp_dst_ = memory({{1}, dt::s32, tag::x}, eng_);
      // Batch sizes: max, then the powers of two below it (largest first).
      std::vector<int> sizes{g.conv.batch};
      for (int s = 1 << 30; s >= 1; s >>= 1)
        if (s < g.conv.batch) sizes.push_back(s);
      memory user(user_w, eng_, const_cast<void*>(w));
      for (int b : sizes) {
        const memory::desc src_md = ActivationDesc(g, b, true, t.src);
        const memory::desc dst_md = ActivationDesc(g, b, false, t.dst);
        const memory::desc wei_any(user_w.dims(), t.wei, tag::any);
        dnnl::primitive prim;
        memory::desc wei_md;
        std::string impl;
        if (g.dense) {
          const auto d = t.bias != dt::undef ? dnnl::matmul::desc(src_md, wei_any, bias_md, dst_md)
                                             : dnnl::matmul::desc(src_md, wei_any, dst_md);
          const dnnl::matmul::primitive_desc pd(d, attr, eng_);
          prim = dnnl::matmul(pd);
          wei_md = pd.weights_desc();
          impl = pd.impl_info_str();
        } else {
          const Conv2dParams& p = g.conv;
          const memory::dims strides{p.stride_h, p.stride_w}, dil{p.dilation_h - 1, p.dilation_w - 1};
          const memory::dims pad_l{p.pad_top, p.pad_left}, pad_r{p.pad_bottom, p.pad_right};
          const auto kind = dnnl::prop_kind::forward_inference;
          const auto algo = dnnl::algorithm::convolution_direct;
          const auto d = t.bias != dt::undef
                             ? dnnl::convolution_forward::desc(kind, algo, src_md, wei_any, bias_md, dst_md, strides,
                                                               dil, pad_l, pad_r)
                             : dnnl::convolution_forward::desc(kind, algo, src_md, wei_any, dst_md, strides, dil,
                                                               pad_l, pad_r);
          const dnnl::convolution_forward::primitive_desc pd(d, attr, eng_);
          prim = dnnl::convolution_forward(pd);
          wei_md = pd.weights_desc();
          impl = pd.impl_info_str();
        }
        if (require_exact_weights && (wei_md.data.extra.flags & dnnl_memory_extra_flag_scale_adjust) &&
            wei_md.data.extra.scale_adjust != 1.0f)
          return Unimplemented(std::string("oneDNN rescales int8 weights on this CPU (") + impl +
                               ", no VNNI): its s32 accumulator would not be exact");
        if (impl_.empty()) impl_ = impl;
        PrimitiveEntry e;
        e.batch = b;
        e.prim = prim;
        e.src = memory(src_md, eng_, nullptr);
        e.dst = memory(dst_md, eng_, nullptr);
        e.args = {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, Weights(user, wei_md)}, {DNNL_ARG_DST, e.dst}};
        if (t.bias != dt::undef) e.args.insert({DNNL_ARG_BIAS, bias_});
        if (a.src_zero_point) e.args.insert({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zp_src_});
        if (a.native) e.args.insert({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zp_dst_});
        entries_.push_back(std::move(e));
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      return Unimplemented(std::string("oneDNN could not create the ") + (g.dense ? "matmul" : "convolution") +
                           ": " + e.what());
    }
    return Status();
  }

  void SetZeroPoints(std::int32_t src, std::int32_t dst) {
    if (zp_src_) *static_cast<std::int32_t*>(zp_src_.get_data_handle()) = src;
    if (zp_dst_) *static_cast<std::int32_t*>(zp_dst_.get_data_handle()) = dst;
  }

  // n samples from x (src_bytes per element) to y (dst_bytes per element).
  void Run(int n, const void* x, void* y, std::size_t src_bytes, std::size_t dst_bytes) {
    omp_set_num_threads(threads_);
    auto* xb = static_cast<char*>(const_cast<void*>(x));
    auto* yb = static_cast<char*>(y);
    int done = 0;
    for (PrimitiveEntry& e : entries_) {
      while (n - done >= e.batch) {
        e.src.set_data_handle(xb + static_cast<std::size_t>(done * g_.in_sample) * src_bytes);
        e.dst.set_data_handle(yb + static_cast<std::size_t>(done * g_.out_sample) * dst_bytes);
        e.prim.execute(strm_, e.args);
        done += e.batch;
      }
    }
    strm_.wait();
  }

  const std::string& impl() const { return impl_; }
  const Geometry& geometry() const { return g_; }
  int threads() const { return threads_; }

 private:
  // The weights in layout `md` (reordered once per layout).
  memory Weights(const memory& user, const memory::desc& md) { return weights_.Get(user, md, eng_, strm_); }

  dnnl::engine eng_;
  dnnl::stream strm_;
  Geometry g_;
  int threads_ = 1;
  std::vector<PrimitiveEntry> entries_;  // largest batch first
  WeightLayouts weights_;
  memory bias_, zp_src_, zp_dst_;
  std::string impl_;
};

class F32Op final : public PreparedF32 {
 public:
  Status Build(const Geometry& g, const float* w, const float* bias, int threads) {
    return op_.Build(g, {dt::f32, dt::f32, dt::f32, bias ? dt::f32 : dt::undef}, w, bias, {}, false, threads);
  }
  void Run(int n, const float* x, float* y) override { op_.Run(n, x, y, sizeof(float), sizeof(float)); }
  std::string ImplName() const override { return op_.impl(); }

 private:
  OneDnnOp op_;
};

class S8Op final : public PreparedS8 {
 public:
  Status Build(const Geometry& g, std::int32_t zp_in, const PreparedOutputQuantS8& out, const std::int8_t* w,
               const std::int32_t* bias, S8Requant requant, int threads) {
    requant_ = requant;
    out_ = out;
    Int8Attr a;
    a.src_zero_point = true;
    if (requant == S8Requant::kQualm) {
      // s32 accumulators only; the bias and the output stage are qualm's.
      if (bias) bias_.assign(bias, bias + g.conv.out_c);
      acc_.assign(static_cast<std::size_t>(g.conv.batch * g.out_sample), 0);
      QUALM_RETURN_IF_ERROR(op_.Build(g, {dt::s8, dt::s8, dt::s32, dt::undef}, w, nullptr, a, true, threads));
    } else {
      a.native = true;
      for (const Requant& r : out.requant) a.scales.push_back(r.scale);
      a.clip_lo = static_cast<float>(out.act_min - out.zero_point);
      a.clip_hi = static_cast<float>(out.act_max - out.zero_point);
      QUALM_RETURN_IF_ERROR(
          op_.Build(g, {dt::s8, dt::s8, dt::s8, bias ? dt::s32 : dt::undef}, w, bias, a, false, threads));
    }
    op_.SetZeroPoints(zp_in, out.zero_point);
    return Status();
  }

  void Run(int n, const std::int8_t* x, std::int8_t* y) override {
    if (requant_ == S8Requant::kNativeScales) {
      op_.Run(n, x, y, 1, 1);
      return;
    }
    op_.Run(n, x, acc_.data(), 1, sizeof(std::int32_t));
    // The reference's output stage (conv2d_s8.h): acc += bias; RequantizeOutputS8.
    const int oc = op_.geometry().conv.out_c;
    const std::int64_t pixels = n * op_.geometry().out_sample / oc;
    const std::int32_t* acc = acc_.data();
    const std::int32_t* bias = bias_.empty() ? nullptr : bias_.data();
#pragma omp parallel for num_threads(op_.threads()) schedule(static)
    for (std::int64_t r = 0; r < pixels; ++r) {
      const std::int32_t* a = acc + r * oc;
      std::int8_t* yr = y + r * oc;
      for (int c = 0; c < oc; ++c) yr[c] = RequantizeOutputS8(a[c] + (bias ? bias[c] : 0), out_, static_cast<std::size_t>(c));
    }
  }
  std::string ImplName() const override { return op_.impl(); }

 private:
  OneDnnOp op_;
  S8Requant requant_ = S8Requant::kQualm;
  PreparedOutputQuantS8 out_;
  std::vector<std::int32_t> bias_, acc_;
};

}  // namespace

bool Available() { return true; }

std::string Describe() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
  return std::string("oneDNN ") + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " (OpenMP, isa " + isa + ")";
}

const char* S8RequantName(S8Requant r) {
  return r == S8Requant::kQualm ? "qualm-requant" : "onednn-fp32-scales";
}

Result<std::unique_ptr<PreparedF32>> PrepareConv2dF32(const Conv2dParams& p, const float* w, const float* bias,
                                                      int threads) {
  QUALM_RETURN_IF_ERROR(Validate(p));
  auto op = std::make_unique<F32Op>();
  QUALM_RETURN_IF_ERROR(op->Build(ConvGeometry(p), w, bias, threads));
  return std::unique_ptr<PreparedF32>(std::move(op));
}

Result<std::unique_ptr<PreparedF32>> PrepareDenseF32(const DenseParams& p, const float* w, const float* bias,
                                                     int threads) {
  QUALM_RETURN_IF_ERROR(Validate(p));
  auto op = std::make_unique<F32Op>();
  QUALM_RETURN_IF_ERROR(op->Build(DenseGeometry(p), w, bias, threads));
  return std::unique_ptr<PreparedF32>(std::move(op));
}

Result<std::unique_ptr<PreparedS8>> PrepareConv2dS8(const PreparedConv2dS8& p, const std::int8_t* w,
                                                    const std::int32_t* bias, S8Requant requant, int threads) {
  auto op = std::make_unique<S8Op>();
  QUALM_RETURN_IF_ERROR(op->Build(ConvGeometry(p.shape), p.input_zero_point, p.output, w, bias, requant, threads));
  return std::unique_ptr<PreparedS8>(std::move(op));
}

Result<std::unique_ptr<PreparedS8>> PrepareDenseS8(const PreparedDenseS8& p, const std::int8_t* w,
                                                   const std::int32_t* bias, S8Requant requant, int threads) {
  auto op = std::make_unique<S8Op>();
  QUALM_RETURN_IF_ERROR(op->Build(DenseGeometry(p.shape), p.input_zero_point, p.output, w, bias, requant, threads));
  return std::unique_ptr<PreparedS8>(std::move(op));
}

}  // namespace qualm::kernels::onednn
