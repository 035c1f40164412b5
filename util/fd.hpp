// A file descriptor owned by one object: closed when it goes, moved but never
// copied, so a descriptor is closed once, by whoever holds it last.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <utility>

namespace lambdad::util {

class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(Fd const&) = delete;
  Fd& operator=(Fd const&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up: the caller closes it (or hands it on).
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes what it held, then holds `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Both ends of a pipe (pipe2 with `flags`) or of a socket pair: each closes
// itself unless it is handed on. Nothing, with errno set, when the call fails.
struct FdPair {
  Fd first;   // a pipe's read end
  Fd second;  // a pipe's write end
};
inline std::optional<FdPair> make_pipe(int flags) {
  int ends[2];
  if (::pipe2(ends, flags) != 0) return std::nullopt;
  return FdPair{Fd(ends[0]), Fd(ends[1])};
}
inline std::optional<FdPair> make_socketpair(int domain, int type) {
  int ends[2];
  if (::socketpair(domain, type, 0, ends) != 0) return std::nullopt;
  return FdPair{Fd(ends[0]), Fd(ends[1])};
}

}  // namespace lambdad::util
