// The HTTP front: a listener that owns the accept loop and one session
// coroutine per connection that owns its read/write loop, with explicit
// limits on header size, body size and idle/read time. It knows nothing of
// Lambda: requests go to a Service. Runs on the io_context thread.
#pragma once

#include "stream_out.hpp"
#include "util/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace lambdad::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Request = beast::http::request<beast::http::string_body>;
using Response = beast::http::response<beast::http::string_body>;
using RequestHeader = beast::http::request_header<>;

struct Limits {
  std::size_t header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 80u << 20;  // hard ceiling; a service sets lower ones per route
  std::chrono::seconds idle_timeout{75};
  std::chrono::seconds read_timeout{60};
};

// Who sent a request, and where it came in.
struct Peer {
  std::string address;          // the client's IP address
  unsigned short local_port = 0;  // the daemon's port it reached
};

class Service {
 public:
  virtual ~Service() = default;
  // The largest body this route takes; over it, `too_large` answers.
  virtual std::uint64_t body_limit(RequestHeader const& header) const = 0;
  virtual Response too_large(RequestHeader const& header) const = 0;
  // The response to send; or, for a body that is not whole, `out` is
  // started and written to, and what is returned is not sent.
  virtual asio::awaitable<Response> handle(Request req, Peer peer, StreamOut& out) = 0;
};

class Server {
 public:
  Server(asio::io_context& ioc, Service& service, Limits limits);
  ~Server();
  Result<asio::ip::tcp::endpoint> listen(asio::ip::tcp::endpoint const& at);
  // A listening TCP socket made by someone else (systemd's socket activation).
  Result<asio::ip::tcp::endpoint> adopt(int fd);
  void start();
  // Stops accepting; open sessions end after their current response.
  void stop();
  std::size_t in_flight() const { return in_flight_; }
  // SIGHUP: new timeouts, for requests read from now on.
  void set_limits(Limits limits) { limits_ = limits; }
  Limits const& limits() const { return limits_; }
  bool stopping() const { return stopping_; }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(asio::ip::tcp::socket socket);

  asio::io_context& ioc_;
  Service& service_;
  Limits limits_;
  asio::ip::tcp::acceptor acceptor_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  bool exhausted_ = false;  // the last accept failed at the descriptor limit (logged once)
};

}  // namespace lambdad::http
