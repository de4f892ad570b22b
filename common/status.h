#pragma once
// Status and Result<T>: how every Berth function reports failure.
//
// Codes are the gRPC codes (they cross the wire unchanged in google.rpc.Status). OK costs nothing:
// an OK Status holds no allocation. Messages say what failed and what the user can do about it;
// they are written once, where the failure is detected, and passed up unchanged (callers may
// prefix context with Annotate()).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace berth {

enum class Code : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "NOT_FOUND", "INVALID_ARGUMENT", ...; "CODE(n)" for numbers outside the gRPC range.
std::string CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status Annotate(std::string_view context) const;
  // "NOT_FOUND: blob sha256:... not found"
  std::string ToString() const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

// Shorthands: Error(Code::kNotFound, "blob {} not found", digest).
template <typename... Args>
Status Error(Code code, fmt::format_string<Args...> format, Args&&... args) {
  return Status(code, fmt::format(format, std::forward<Args>(args)...));
}
// An errno failure of a system call: "open /x: No such file or directory", code mapped from errno
// (ENOENT -> NOT_FOUND, EEXIST -> ALREADY_EXISTS, EACCES/EPERM -> PERMISSION_DENIED,
// ENOSPC/EDQUOT -> RESOURCE_EXHAUSTED, EINVAL -> INVALID_ARGUMENT, else INTERNAL).
Status ErrnoStatus(int err, std::string_view what);
Code CodeFromErrno(int err);

// Accessing the value of a failed Result is a bug: it aborts, printing the status.
[[noreturn]] void DieOnBadResultAccess(const Status& status);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status(Code::kInternal, "Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return Check(), *value_; }
  const T& value() const& { return Check(), *value_; }
  T&& value() && { return Check(), std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Check() const {
    if (!value_.has_value()) DieOnBadResultAccess(status_);
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace berth

// Propagate a failed Status from the current function.
#define BERTH_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::berth::Status berth_status_ = (expr);        \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define BERTH_CONCAT_INNER(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_INNER(a, b)
// BERTH_ASSIGN_OR_RETURN(auto fd, OpenFile(path)); returns the Status on failure.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL(BERTH_CONCAT(berth_result_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
