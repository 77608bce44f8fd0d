// Validate() rejects bad parameters with a message naming the problem; CPU
// detection and the ISA cap are self-consistent.
#include <string>

#include "kernels/test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/detail/gemm_variants.h"
#include "qualm/kernels/pool.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;

namespace {

qk::Conv2dParams GoodConv() {
  qk::Conv2dParams p;
  p.batch = 2, p.in_h = 8, p.in_w = 8, p.in_c = 4, p.out_c = 6, p.kernel_h = 3, p.kernel_w = 3;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  p.groups = 2;
  return p;
}

template <typename P>
void ExpectRejected(const P& p, const std::string& must_mention) {
  const qualm::Status s = qk::Validate(p);
  INFO("message: " << s.message());
  CHECK_FALSE(s.ok());
  CHECK(s.code() == qualm::StatusCode::kInvalidArgument);
  CHECK(s.message().find(must_mention) != std::string::npos);
}

}  // namespace

TEST_CASE("Validate(Conv2dParams) accepts good shapes and names the bad field") {
  CHECK(qk::Validate(GoodConv()).ok());
  auto with = [](auto edit) {
    qk::Conv2dParams p = GoodConv();
    edit(p);
    return p;
  };
  ExpectRejected(with([](auto& p) { p.batch = 0; }), "batch must be positive, got 0");
  ExpectRejected(with([](auto& p) { p.in_c = 0; }), "in_c");
  ExpectRejected(with([](auto& p) { p.out_c = -3; }), "out_c must be positive, got -3");
  ExpectRejected(with([](auto& p) { p.kernel_w = 0; }), "kernel_w");
  ExpectRejected(with([](auto& p) { p.stride_h = 0; }), "stride_h");
  ExpectRejected(with([](auto& p) { p.dilation_w = 0; }), "dilation_w");
  ExpectRejected(with([](auto& p) { p.groups = 0; }), "groups");
  ExpectRejected(with([](auto& p) { p.groups = 3; }), "groups 3 must divide in_c 4 and out_c 6");
  ExpectRejected(with([](auto& p) { p.out_c = 5; }), "must divide");
  ExpectRejected(with([](auto& p) { p.pad_left = -1; }), "pad_left must be non-negative, got -1");
  ExpectRejected(with([](auto& p) { p.kernel_h = 11; }), "kernel 11x3 (dilated 11x3) is larger than the padded input 10x10");
  ExpectRejected(with([](auto& p) { p.dilation_h = 5; }), "dilated 11x3");
  ExpectRejected(with([](auto& p) { p.batch = 1 << 20, p.in_h = p.in_w = 1024; }), "elements");
}

TEST_CASE("Validate(Pool2dParams), Validate(DenseParams), Validate(RnnParams)") {
  qk::Pool2dParams p;
  p.batch = 1, p.in_h = 4, p.in_w = 4, p.channels = 2, p.kernel_h = 2, p.kernel_w = 2, p.stride_h = p.stride_w = 2;
  CHECK(qk::Validate(p).ok());
  qk::Pool2dParams q = p;
  q.channels = 0;
  ExpectRejected(q, "channels must be positive");
  q = p, q.pad_top = -2;
  ExpectRejected(q, "pad_top must be non-negative, got -2");
  q = p, q.pad_right = 2;
  ExpectRejected(q, "must be smaller than the kernel");
  q = p, q.kernel_h = 5, q.pad_top = 0;
  ExpectRejected(q, "kernel 5x2 is larger than the padded input 4x4");
  q = p, q.stride_w = 0;
  ExpectRejected(q, "stride_w");

  CHECK(qk::Validate(qk::DenseParams{4, 3, 2}).ok());
  ExpectRejected(qk::DenseParams{0, 3, 2}, "batch must be positive, got 0");
  ExpectRejected(qk::DenseParams{4, -1, 2}, "in_features");
  ExpectRejected(qk::DenseParams{4, 3, 0}, "out_features");

  CHECK(qk::Validate(qk::RnnParams{2, 3, 4, 5}).ok());
  ExpectRejected(qk::RnnParams{2, 0, 4, 5}, "seq_len must be positive, got 0");
  ExpectRejected(qk::RnnParams{2, 3, 0, 5}, "input_size");
  ExpectRejected(qk::RnnParams{2, 3, 4, 0}, "hidden_size");
}

TEST_CASE("CPU detection and ISA cap are consistent") {
  const qk::CpuFeatures& f = qk::DetectedCpu();
  const qk::Isa detected = qk::DetectedIsa();
  if (detected >= qk::Isa::kAvx2) CHECK((f.avx2 && f.fma && f.os_avx));
  if (detected >= qk::Isa::kAvx512) CHECK((f.avx512f && f.os_avx512));
  if (detected == qk::Isa::kAvxVnni) CHECK((f.avx_vnni && !f.avx512f));
  // AVX-VNNI is not implied by the levels above it: available only when the CPU has it.
  if (qk::IsaAvailable(qk::Isa::kAvxVnni)) CHECK((f.avx_vnni && f.avx2 && f.os_avx));
  if (!f.avx_vnni) CHECK_FALSE(qk::IsaAvailable(qk::Isa::kAvxVnni));
  const int min_level = std::min(static_cast<int>(qk::DetectedIsa()), static_cast<int>(qk::IsaCap()));
  if (min_level == static_cast<int>(qk::Isa::kAvxVnni) && !f.avx_vnni)
    CHECK(qk::ActiveIsa() == qk::Isa::kAvx2);  // a cap of avxvnni on a CPU without it
  else
    CHECK(static_cast<int>(qk::ActiveIsa()) == min_level);
  CHECK(qk::IsaAvailable(qk::Isa::kScalar));
  CHECK(qk::IsaAvailable(qk::ActiveIsa()));
  const std::string d = qk::DescribeCpu();
  MESSAGE(d);
  MESSAGE(qk::detail::DescribeGemmDispatch());
  CHECK(d.find(std::string("active ") + qk::IsaName(qk::ActiveIsa())) != std::string::npos);
  CHECK(d.find("QUALM_ISA") != std::string::npos);
  // The dispatcher picks the best runnable variant.
  CHECK(std::string(qk::GemmPathName()) == qk::detail::RunnableGemmVariants().front().name);
  // The test hook refuses ISAs that are not available and restores the choice.
  {
    qk::detail::ScopedGemmIsaForTesting forced(qk::Isa::kScalar);
    CHECK(forced.ok());
    CHECK(std::string(qk::GemmPathName()) == "gemm_f32_4x8__generic");
  }
  CHECK(std::string(qk::GemmPathName()) == qk::detail::RunnableGemmVariants().front().name);
  if (!qk::IsaAvailable(qk::Isa::kAvx2)) {
    qk::detail::ScopedGemmIsaForTesting forced(qk::Isa::kAvx2);
    CHECK_FALSE(forced.ok());
  }
}
