// Lambda's bandwidth for a streamed response: the first 6 MiB go out as
// fast as the function writes them, then 2 MiB/s ("Response streaming
// bandwidth", Lambda developer guide; the same in AWS's Runtime Interface
// Emulator). pace() waits, before a piece goes out, until the piece fits.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include <chrono>
#include <cstdint>

namespace lambdad::api {

class StreamRate {
 public:
  static constexpr std::uint64_t kBurstBytes = 6u << 20;
  static constexpr double kBytesPerSecond = 2.0 * (1u << 20);

  explicit StreamRate(bool limited) : limited_(limited) {}

  boost::asio::awaitable<void> pace(std::size_t n) {
    if (!limited_) co_return;
    if (!started_) {
      started_ = true;
      begin_ = std::chrono::steady_clock::now();
    }
    sent_ += n;
    if (sent_ <= kBurstBytes) co_return;
    auto due = begin_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(sent_ - kBurstBytes) / kBytesPerSecond));
    if (due <= std::chrono::steady_clock::now()) co_return;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_at(due);
    [[maybe_unused]] auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

 private:
  bool limited_;
  bool started_ = false;
  std::chrono::steady_clock::time_point begin_{};
  std::uint64_t sent_ = 0;
};

}  // namespace lambdad::api
