// Status and Result<T>: how every fallible engine call reports success or failure.
//
// Modelled on leveldb::Status: an OK status costs a code and a null pointer; failures carry a code
// and a message naming what failed and where. A missing key, or a value whose TTL has expired, is
// NotFound — an expected outcome, not an exception. Result<T> is the value-or-Status form used
// where a call produces something (a C++23 std::expected stand-in; Debian 12's g++ 12 lacks it).
//
// Thread-safety: a Status/Result is a value; distinct objects may be used from any thread.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace statewatch {

class [[nodiscard]] Status {
 public:
  // Codes are stable; do not renumber (they appear in logs and, later, on disk).
  enum class Code : int {
    kOk = 0,
    kNotFound = 1,
    kInvalidArgument = 2,
    kIOError = 3,
    kCorruption = 4,
    kNotSupported = 5,
    kAlreadyExists = 6,
    kFailedPrecondition = 7,
    kResourceExhausted = 8,
    kUnavailable = 9,  // a peer did not answer (refused, timed out); worth retrying
  };

  Status() noexcept = default;
  Status(const Status& other)
      : code_(other.code_),
        message_(other.message_ ? std::make_unique<std::string>(*other.message_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) *this = Status(other);
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status NotSupported(std::string_view msg) { return Status(Code::kNotSupported, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsNotSupported() const { return code() == Code::kNotSupported; }
  bool IsAlreadyExists() const { return code() == Code::kAlreadyExists; }
  bool IsFailedPrecondition() const { return code() == Code::kFailedPrecondition; }
  bool IsResourceExhausted() const { return code() == Code::kResourceExhausted; }
  bool IsUnavailable() const { return code() == Code::kUnavailable; }

  Code code() const { return code_; }
  const std::string& message() const;
  // "OK" or "<Code name>: <message>".
  std::string ToString() const;

 private:
  Status(Code code, std::string_view msg)
      : code_(code), message_(msg.empty() ? nullptr : std::make_unique<std::string>(msg)) {}

  // The message lives on the heap only when there is one, so an OK status and a bare NotFound
  // (the TTL/lookup miss on the hot path) cost no allocation.
  Code code_ = Code::kOk;
  std::unique_ptr<std::string> message_;
};

// Holds either a T or a non-OK Status. Accessing the value of a failed Result is a bug (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` when not ok (any failure, NotFound included).
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace statewatch

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define SW_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::statewatch::Status sw_status_ = (expr); \
    if (!sw_status_.ok()) return sw_status_;  \
  } while (0)
