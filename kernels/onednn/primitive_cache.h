// kernels/onednn/primitive_cache.h: what the oneDNN-backed ops (primitives.cpp:
// conv2d / dense; recurrent.cpp: LSTM / GRU) keep between prepare and
// execute: one primitive per prepared batch size, and the weights reordered
// once per layout those primitives ask for.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

namespace qualm::kernels::onednn {

// A primitive made for `batch` samples, with its source / destination memory
// (handles set per call) and its argument map.
struct PrimitiveEntry {
  int batch = 0;
  dnnl::primitive prim;
  dnnl::memory src, dst;
  std::unordered_map<int, dnnl::memory> args;
};

// The weights in each layout a primitive asked for: reordered from the user
// layout the first time, shared by every primitive asking for the same one.
class WeightLayouts {
 public:
  dnnl::memory Get(const dnnl::memory& user, const dnnl::memory::desc& md, const dnnl::engine& eng,
                   dnnl::stream& strm) {
    for (const dnnl::memory& m : layouts_)
      if (m.get_desc() == md) return m;
    dnnl::memory m(md, eng);
    dnnl::reorder(user, m).execute(strm, const_cast<dnnl::memory&>(user), m);
    layouts_.push_back(m);
    return m;
  }

 private:
  std::vector<dnnl::memory> layouts_;
};

}  // namespace qualm::kernels::onednn
