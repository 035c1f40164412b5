// A file descriptor owned by one object: closed when it goes, moved but never
// copied, so a descriptor is closed once, by whoever holds it last.
#pragma once

#include <unistd.h>

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

}  // namespace lambdad::util
