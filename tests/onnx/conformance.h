// tests/onnx/conformance.h: the driver every ONNX conformance test case uses.
//
// A family (Conv, Gemm, ...) is a table of ONNX case names, each marked as one
// the harness must run or one it must decline. The harness decides from the
// model itself (attributes, dtypes, shapes) and returns the reason when it
// declines; the table pins that decision, so a case that silently stops running
// (or starts running) fails. Every case in the data whose name starts with one of
// the family's prefixes must be in the table, and the number of cases run must
// equal the table's count: a loader that finds nothing fails (a family whose
// cases are all declined still loads each one and pins the decision).
// Success prints nothing; a mismatch names the case, the output and path, the
// first mismatching index (ONNX coordinates) and both values.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "onnx_case.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm_onnx {

// Float tolerance for every float node test: |got - want| <= kAtol + kRtol * |want|.
// The expected outputs come from ONNX's numpy reference (float32, different
// summation order, libm exp/tanh): a few ulps on these small shapes, so 1e-4
// relative is loose enough for any correct kernel and far below the error of a
// wrong layout, gate order, padding or bias (the smallest such errors seen are
// > 1e-2).
inline constexpr double kAtol = 1e-5;
inline constexpr double kRtol = 1e-4;

struct Outcome {
  bool ran = false;
  std::string declined;               // why the harness did not run the case
  std::vector<std::string> failures;  // one line per mismatch
  void Check(const std::string& message) {
    if (!message.empty()) failures.push_back(message);
  }
};
inline Outcome Decline(std::string why) {
  Outcome o;
  o.declined = std::move(why);
  return o;
}

struct Expected {
  const char* name;
  bool runs;  // false: the harness must decline it (the reason is in the family's comment table)
};

inline void RunFamily(const std::vector<std::string>& prefixes, const std::vector<Expected>& table,
                      const std::function<Outcome(const Case&)>& run) {
  // Coverage: every case of the family in the data is classified.
  for (const auto& prefix : prefixes) {
    for (const auto& name : ListCases(prefix)) {
      const bool known = std::any_of(table.begin(), table.end(), [&](const Expected& e) { return name == e.name; });
      if (!known) FAIL_CHECK("ONNX case " << name << " is in the data but not classified in this family's table");
    }
  }
  int expected_runs = 0, ran = 0;
  for (const auto& e : table) {
    expected_runs += e.runs ? 1 : 0;
    const std::string name = e.name;
    std::string error;
    const auto c = LoadCase(name, &error);
    if (!c) {
      FAIL_CHECK("cannot load ONNX case " << name << ": " << error);
      continue;
    }
    const Outcome o = run(*c);
    if (o.ran != e.runs) {
      FAIL_CHECK(name << " (" << c->op_type << "): expected the harness to "
                        << (e.runs ? "run it, but it declined: " + o.declined : std::string("decline it, but it ran")));
    }
    ran += o.ran ? 1 : 0;
    for (const auto& f : o.failures) FAIL_CHECK(f);
  }
  CHECK_MESSAGE(ran == expected_runs, "cases run: " << ran << ", expected " << expected_runs);
}

// 64-byte aligned scratch for the fast paths, pre-filled with NaN (a kernel that
// reads scratch it did not write shows up as a mismatch).
class Scratch {
 public:
  explicit Scratch(std::size_t floats) : storage_(floats + 16, std::numeric_limits<float>::quiet_NaN()) {
    const auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    ptr_ = storage_.data() + ((64 - addr % 64) % 64) / sizeof(float);
    floats_ = floats;
  }
  qualm::kernels::KernelContext Context(int threads) const { return {threads, ptr_, floats_}; }

 private:
  std::vector<float> storage_;
  float* ptr_ = nullptr;
  std::size_t floats_ = 0;
};

// Calls body(label) for every fast-path configuration: each gemm variant this
// machine can run (gemm_variants.h test hook) x threads 1 and 2. The label
// ("fast gemm_f32_6x16__avx2 t2") goes into failure messages.
inline void ForEachFastPath(const std::function<void(int threads, const std::string& label)>& body) {
  for (const auto& v : qualm::kernels::detail::RunnableGemmVariants()) {
    qualm::kernels::detail::ScopedGemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    for (int threads : {1, 2}) body(threads, std::string("fast ") + v.name + " t" + std::to_string(threads));
  }
}

// "test_conv_x (Conv) y [ref]"
inline std::string What(const Case& c, const char* output, const std::string& path) {
  return c.name + " (" + c.op_type + ") " + output + " [" + path + "]";
}

}  // namespace qualm_onnx
