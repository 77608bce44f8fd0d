// kernels/internal/isa_dispatch.h: what every per-ISA dispatcher (float GEMM,
// int8 GEMM) does with its variant table: a table lists variants best first,
// each with the ISA it needs (`isa`) and a `name`; the first one the CPU (capped
// by QUALM_ISA) can run is chosen, and tests may force any runnable one.
#pragma once

#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"

namespace qualm::kernels::internal {

template <typename V>
std::vector<V> RunnableVariants(const std::vector<V>& table) {
  std::vector<V> out;
  for (const V& v : table)
    if (IsaAvailable(v.isa)) out.push_back(v);
  return out;
}

// "a: rejected, needs avx2 (...); b: chosen; c: not needed[; test override active: x]".
template <typename V>
std::string DescribeDispatch(const std::vector<V>& table, const V* override_variant) {
  std::string s;
  bool chosen = false;
  for (const V& v : table) {
    if (!s.empty()) s += "; ";
    s += v.name;
    if (chosen) {
      s += ": not needed";
    } else if (IsaAvailable(v.isa)) {
      s += ": chosen";
      chosen = true;
    } else {
      s += std::string(": rejected, needs ") + IsaName(v.isa) + " (" + DescribeCpu() + ")";
    }
  }
  if (override_variant) s += std::string("; test override active: ") + override_variant->name;
  return s;
}

// The table's variant for `isa` if the CPU can run it, else null.
template <typename V>
const V* RunnableVariantFor(const std::vector<V>& table, Isa isa) {
  for (const V& v : table)
    if (v.isa == isa && IsaAvailable(isa)) return &v;
  return nullptr;
}

}  // namespace qualm::kernels::internal
