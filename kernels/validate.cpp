// Validate() for every parameter struct that has one (conv2d.h, dense.h,
// pool.h, recurrent.h). Shared by the reference and the fast paths: an op is
// validated once at prepare time and its kernels only DCHECK afterwards.
// Messages name the offending field and its value(s).
#include <climits>
#include <cstdint>
#include <string>

#include "qualm/kernels/checked.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/pool.h"
#include "qualm/kernels/recurrent.h"

namespace qualm::kernels {
namespace {

std::string S(long long v) { return std::to_string(v); }

Status RequirePositive(const char* op, const char* field, int value) {
  if (value > 0) return Status::Ok();
  return InvalidArgument(std::string(op) + ": " + field + " must be positive, got " + S(value));
}

Status RequireNonNegative(const char* op, const char* field, int value) {
  if (value >= 0) return Status::Ok();
  return InvalidArgument(std::string(op) + ": " + field + " must be non-negative, got " + S(value));
}

// The fast paths index with int (GEMM sizes), so every tensor must have at
// most INT_MAX elements. The product is checked factor by factor (checked.h):
// fields near INT_MAX must not wrap a 64-bit product into a small one.
Status RequireFitsInt(const char* op, const char* what, std::initializer_list<std::int64_t> dims) {
  auto n = CheckedProduct(dims, INT_MAX, std::string(op) + ": " + what);
  return n.ok() ? Status::Ok() : n.status();
}

// A padded extent or a dilated kernel must itself fit an int: out_h() and
// out_w() compute in int.
Status RequireIntExtent(const char* op, const char* what, std::int64_t v) {
  if (v <= INT_MAX) return Status::Ok();
  return InvalidArgument(std::string(op) + ": " + what + " " + S(v) + " exceeds " + S(INT_MAX));
}

}  // namespace

Status Validate(const Conv2dParams& p) {
  const char* op = "conv2d";
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "batch", p.batch));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_h", p.in_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_w", p.in_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_c", p.in_c));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "out_c", p.out_c));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "kernel_h", p.kernel_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "kernel_w", p.kernel_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "stride_h", p.stride_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "stride_w", p.stride_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "dilation_h", p.dilation_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "dilation_w", p.dilation_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "groups", p.groups));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_top", p.pad_top));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_left", p.pad_left));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_bottom", p.pad_bottom));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_right", p.pad_right));
  if (p.in_c % p.groups != 0 || p.out_c % p.groups != 0) {
    return InvalidArgument(std::string(op) + ": groups " + S(p.groups) + " must divide in_c " + S(p.in_c) +
                           " and out_c " + S(p.out_c));
  }
  const std::int64_t eff_h = std::int64_t{p.dilation_h} * (p.kernel_h - 1) + 1;
  const std::int64_t eff_w = std::int64_t{p.dilation_w} * (p.kernel_w - 1) + 1;
  const std::int64_t padded_h = std::int64_t{p.in_h} + p.pad_top + p.pad_bottom;
  const std::int64_t padded_w = std::int64_t{p.in_w} + p.pad_left + p.pad_right;
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "dilated kernel height", eff_h));
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "dilated kernel width", eff_w));
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "padded input height", padded_h));
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "padded input width", padded_w));
  if (eff_h > padded_h || eff_w > padded_w) {
    return InvalidArgument(std::string(op) + ": kernel " + S(p.kernel_h) + "x" + S(p.kernel_w) + " (dilated " +
                           S(eff_h) + "x" + S(eff_w) + ") is larger than the padded input " + S(padded_h) + "x" +
                           S(padded_w));
  }
  const std::int64_t n = p.batch;
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "input", {n, p.in_h, p.in_w, p.in_c}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "output", {n, p.out_h(), p.out_w(), p.out_c}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "weights", {p.out_c, p.kernel_h, p.kernel_w, p.in_c / p.groups}));
  // The fast path's im2col matrix has batch*out_h*out_w rows of kernel_h*kernel_w*in_c/groups.
  QUALM_RETURN_IF_ERROR(RequireFitsInt(
      op, "im2col matrix", {n, p.out_h(), p.out_w(), p.kernel_h, p.kernel_w, p.in_c / p.groups}));
  return Status::Ok();
}

Status Validate(const DenseParams& p) {
  const char* op = "dense";
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "batch", p.batch));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_features", p.in_features));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "out_features", p.out_features));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "input", {p.batch, p.in_features}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "output", {p.batch, p.out_features}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "weights", {p.out_features, p.in_features}));
  return Status::Ok();
}

Status Validate(const Pool2dParams& p) {
  const char* op = "pool2d";
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "batch", p.batch));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_h", p.in_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "in_w", p.in_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "channels", p.channels));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "kernel_h", p.kernel_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "kernel_w", p.kernel_w));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "stride_h", p.stride_h));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "stride_w", p.stride_w));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_top", p.pad_top));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_left", p.pad_left));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_bottom", p.pad_bottom));
  QUALM_RETURN_IF_ERROR(RequireNonNegative(op, "pad_right", p.pad_right));
  // Padding smaller than the kernel on every side guarantees that every window
  // holds at least one real position (pool.h: a pure-padding window is rejected).
  if (p.pad_top >= p.kernel_h || p.pad_bottom >= p.kernel_h || p.pad_left >= p.kernel_w ||
      p.pad_right >= p.kernel_w) {
    return InvalidArgument(std::string(op) + ": padding (top " + S(p.pad_top) + ", left " + S(p.pad_left) +
                           ", bottom " + S(p.pad_bottom) + ", right " + S(p.pad_right) +
                           ") must be smaller than the kernel " + S(p.kernel_h) + "x" + S(p.kernel_w) +
                           ", otherwise a window can hold only padding");
  }
  const std::int64_t padded_h = std::int64_t{p.in_h} + p.pad_top + p.pad_bottom;
  const std::int64_t padded_w = std::int64_t{p.in_w} + p.pad_left + p.pad_right;
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "padded input height", padded_h));
  QUALM_RETURN_IF_ERROR(RequireIntExtent(op, "padded input width", padded_w));
  if (p.kernel_h > padded_h || p.kernel_w > padded_w) {
    return InvalidArgument(std::string(op) + ": kernel " + S(p.kernel_h) + "x" + S(p.kernel_w) +
                           " is larger than the padded input " + S(padded_h) + "x" + S(padded_w));
  }
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "input", {p.batch, p.in_h, p.in_w, p.channels}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "output", {p.batch, p.out_h(), p.out_w(), p.channels}));
  return Status::Ok();
}

Status Validate(const RnnParams& p) {
  const char* op = "rnn";
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "batch", p.batch));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "seq_len", p.seq_len));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "input_size", p.input_size));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "hidden_size", p.hidden_size));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "input", {p.batch, p.seq_len, p.input_size}));
  // The largest tensors are the gate workspaces: [batch][seq_len][4 * hidden].
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "gate workspace", {p.batch, p.seq_len, 4, p.hidden_size}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "input weights", {4, p.hidden_size, p.input_size}));
  QUALM_RETURN_IF_ERROR(RequireFitsInt(op, "hidden weights", {4, p.hidden_size, p.hidden_size}));
  return Status::Ok();
}

}  // namespace qualm::kernels
