#pragma once

// Result<T>: the value of an operation that can fail for expected reasons (bad input,
// a missing file, a remote error). Programming errors throw instead.

#include <string>
#include <utility>
#include <variant>

#include "base/expected.h"

namespace tiersync {

// An expected failure, with a message written for the person who has to fix it: it names
// the value, where it came from and what to do.
struct Error {
  std::string message;
  // Set when retrying cannot help until someone acts (wrong credentials, a rejected
  // certificate, a server that cannot be reached). The cycle then stops, and outbox
  // entries keep their attempt count.
  bool needs_operator = false;
};

template <typename T>
class [[nodiscard]] Result : public Expected<T, Error> {
 public:
  using Expected<T, Error>::Expected;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tiersync
