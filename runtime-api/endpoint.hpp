// The Runtime API of one execution environment, served on its own loopback
// listener (AWS_LAMBDA_RUNTIME_API): the long-poll /next, /response, /error
// and /init/error. It knows nothing of the scheduler or the control plane:
// the daemon hands it one invocation at a time with `invoke` and gets the
// runtime's answer back. Runs on the io_context thread.
#pragma once

#include "protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lambdad::runtime_api {

struct Outcome {
  enum class Kind { Response, FunctionError, TooLarge, TimedOut, Aborted, Closed };
  Kind kind = Kind::Closed;
  std::string body;        // the payload, or the runtime's error object
  std::string error_type;  // FunctionError: from the header, trailer or body
  // When /next handed the invocation over (unset if it never was), and when
  // the answer came: Duration in REPORT is the difference.
  std::optional<std::chrono::steady_clock::time_point> dispatched_at;
  std::chrono::steady_clock::time_point finished_at{};
};

class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  explicit Endpoint(boost::asio::io_context& ioc);
  ~Endpoint();

  // Binds 127.0.0.1 on a free port; returns "127.0.0.1:PORT".
  std::optional<std::string> listen();
  void start();
  // Stops accepting and wakes every waiter (invoke returns Closed).
  void close();

  // Called once, at the runtime's first /next (init is over).
  std::function<void()> on_first_next;
  // Called on POST /runtime/init/error with the error type and body.
  std::function<void(std::string type, std::string body)> on_init_error;

  // Hands `inv` to the runtime (now, or at its next /next) and waits for its
  // answer: at most `pickup` for the runtime to fetch it (init), then
  // `timeout` from the moment it did. One invocation at a time.
  boost::asio::awaitable<Outcome> invoke(Invocation inv, std::chrono::steady_clock::duration pickup,
                                         std::chrono::steady_clock::duration timeout);
  // Ends the invocation in flight (the runtime died): invoke returns `kind`.
  void abort(Outcome::Kind kind);

 private:
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<Endpoint> self);
  boost::asio::awaitable<void> session(std::shared_ptr<Endpoint> self, boost::asio::ip::tcp::socket socket);
  void finish(Outcome outcome);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer next_signal_;  // wakes a parked /next
  boost::asio::steady_timer done_signal_;  // wakes invoke()
  std::optional<Invocation> pending_;      // handed over, not yet fetched by /next
  std::optional<std::string> in_flight_;   // request id fetched by the runtime, not yet answered
  std::optional<std::string> answered_;    // last request id answered (a second answer is a 403)
  std::optional<Outcome> outcome_;
  std::chrono::steady_clock::duration timeout_{};
  std::optional<std::chrono::steady_clock::time_point> dispatched_at_;
  bool first_next_seen_ = false;
  bool init_failed_ = false;  // after /init/error no event is handed out
  bool closed_ = false;
};

}  // namespace lambdad::runtime_api
