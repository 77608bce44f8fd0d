// kernels/internal/prepare_messages.h: the pieces every Prepare*() uses to
// build its error messages ("<op>: <field> ... got <value>"), so that all ops
// word and print values the same way.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "qualm/status.h"

namespace qualm::kernels::internal {

inline std::string S(long long v) { return std::to_string(v); }

// Floats with 9 significant digits: enough to tell any two floats apart.
inline std::string F(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

inline std::string Op(const char* op) { return std::string(op) + ": "; }

inline Status ValidateScale(const char* op, const std::string& field, float s) {
  if (std::isfinite(s) && s > 0.0f) return Status::Ok();
  return InvalidArgument(Op(op) + field + " must be positive and finite, got " + F(s));
}

}  // namespace qualm::kernels::internal
