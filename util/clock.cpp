#include "clock.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <cstring>
#include <random>
#include <cstdio>
#include <ctime>

namespace lambdad::util {

std::string aws_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string aws_timestamp_now() { return aws_timestamp(std::chrono::system_clock::now()); }

namespace {

// Random bytes drawn from OpenSSL 32 ids at a time: RAND_bytes per id cost
// a lock, a fork check (getpid) and its DRBG for 16 bytes, on every invoke.
// A forked child that goes on (not one that execs) starts a new pool.
struct RandomPool {
  std::array<unsigned char, 512> bytes{};
  std::size_t left = 0;
  RandomPool() {
    static bool registered = [] { return ::pthread_atfork(nullptr, nullptr, [] { pool().left = 0; }) == 0; }();
    (void)registered;
  }
  static RandomPool& pool() {
    thread_local RandomPool p;
    return p;
  }
  unsigned char const* take(std::size_t n) {
    if (left < n) {
      if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        // No entropy from OpenSSL: the kernel's, never a repeated id.
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
      }
      left = bytes.size();
    }
    left -= n;
    return bytes.data() + left;
  }
};

}  // namespace

std::string uuid4() {
  std::array<unsigned char, 16> b{};
  std::memcpy(b.data(), RandomPool::pool().take(b.size()), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
    out[at++] = kHex[b[i] >> 4];
    out[at++] = kHex[b[i] & 0x0f];
  }
  return out;
}

}  // namespace lambdad::util
