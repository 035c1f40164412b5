// Errors as values: an error_code plus a context string built like crun's
// ("open `/var/task`: No such file or directory"). Used by every module that
// can fail without an exception; exceptions stay at the edges (main, config).
#pragma once

#include <boost/system/result.hpp>

#include <cerrno>
#include <string>
#include <system_error>

namespace lambdad {

struct Error {
  std::error_code code;
  std::string context;  // verb + quoted object, e.g. "rename `/x/tmp` to `/x/y`"

  std::string message() const {
    if (!code) return context;
    std::string cause = code.message();
    if (cause.empty()) return context;
    if (context.empty()) return cause;
    return context + ": " + cause;
  }
};

inline Error errno_error(std::string context, int err = errno) {
  return Error{std::error_code(err, std::generic_category()), std::move(context)};
}

inline Error plain_error(std::string message) {
  return Error{std::error_code(), std::move(message)};
}

[[noreturn]] void throw_exception_from_error(Error const& e, boost::source_location const& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace lambdad
