// Accept loops at the descriptor limit. An accept that fails for want of
// descriptors or memory leaves the connection in the listen backlog, and the
// listening socket stays readable: retrying at once spins a core and floods
// the log. Both accept loops (the API's and each Runtime API endpoint's)
// instead pause and try again, so new connections wait until descriptors
// are free while the open ones are served.
#pragma once

#include "use_tuple.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>

namespace lambdad::util {

inline bool is_accept_exhaustion(boost::system::error_code const& ec) {
  namespace e = boost::asio::error;
  return ec == e::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == e::no_buffer_space || ec == e::no_memory;
}

// How long an accept loop waits before it tries again.
inline constexpr std::chrono::milliseconds kAcceptPause{50};

inline boost::asio::awaitable<void> pause_accepting() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, kAcceptPause);
  [[maybe_unused]] auto [ec] = co_await timer.async_wait(use_tuple);
}

}  // namespace lambdad::util
