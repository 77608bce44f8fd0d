// qualm/status.h: errors as values.
//
// qualm never aborts or exits on bad input: a long study must not lose the case
// that triggered an error. Every boundary (prepare, file I/O, CLI, C API)
// returns a Status, or a Result<T> holding either a value or a Status. Messages
// carry context (file, op, shape) so they are useful without a debugger.
// Inside kernels, preconditions already validated at prepare time are checked
// with debug-only asserts (QUALM_DCHECK), never re-validated on the hot path.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace qualm {

enum class StatusCode { kOk = 0, kInvalidArgument, kNotFound, kDataLoss, kIoError, kUnimplemented, kInternal };

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: conv1: kernel 7x7 is larger than the padded input 5x5"
  std::string ToString() const;

  // Prefixes context, e.g. status.WithContext("model.qm") -> "model.qm: <message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

const char* StatusCodeName(StatusCode code);

inline std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

inline const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kDataLoss: return "data loss";
    case StatusCode::kIoError: return "i/o error";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

// Either a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result<T> built from an ok Status");
    if (status_.ok()) status_ = Internal("Result built from an ok status without a value");
  }
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace qualm

#define QUALM_CONCAT_INNER_(a, b) a##b
#define QUALM_CONCAT_(a, b) QUALM_CONCAT_INNER_(a, b)

// Returns early from the enclosing function if `expr` yields a non-ok Status.
#define QUALM_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::qualm::Status qualm_status_ = (expr);         \
    if (!qualm_status_.ok()) return qualm_status_;  \
  } while (0)

// QUALM_ASSIGN_OR_RETURN(auto x, MakeX()): unwraps a Result or returns its Status.
#define QUALM_ASSIGN_OR_RETURN(lhs, expr) \
  QUALM_ASSIGN_OR_RETURN_IMPL_(QUALM_CONCAT_(qualm_result_, __LINE__), lhs, expr)
#define QUALM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#ifdef NDEBUG
#define QUALM_DCHECK(cond) ((void)0)
#else
#define QUALM_DCHECK(cond) assert(cond)
#endif
