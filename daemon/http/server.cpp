#include "server.hpp"
#include "util/accept.hpp"
#include "util/body_room.hpp"
#include "util/use_tuple.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace lambdad::http {

namespace bhttp = beast::http;
using asio::ip::tcp;
using util::use_tuple;


Server::Server(asio::io_context& ioc, Service& service, Limits limits)
    : ioc_(ioc), service_(service), limits_(limits), acceptor_(ioc) {}

Server::~Server() = default;

Result<tcp::endpoint> Server::listen(tcp::endpoint const& at) {
  boost::system::error_code ec;
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{ec, "listen on `" + at.address().to_string() + ":" + std::to_string(at.port()) + "`"};
  return acceptor_.local_endpoint();
}

Result<tcp::endpoint> Server::adopt(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return errno_error("getsockname");
  auto protocol = addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  boost::system::error_code ec;
  acceptor_.assign(protocol, fd, ec);
  if (ec) return Error{ec, "adopt the listening socket " + std::to_string(fd)};
  return acceptor_.local_endpoint();
}

void Server::start() {
  asio::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
    if (e) spdlog::critical("accept loop ended by an exception");
  });
}

void Server::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      if (!util::is_accept_exhaustion(ec)) {
        spdlog::warn("accept: {}", ec.message());
        continue;
      }
      if (!exhausted_)
        spdlog::warn("accept: {}: new connections wait in the listen backlog until descriptors are free ({} "
                     "requests in flight)",
                     ec.message(), in_flight_);
      exhausted_ = true;
      co_await util::pause_accepting();
      continue;
    }
    if (exhausted_) spdlog::info("accept: descriptors are free again");
    exhausted_ = false;
    asio::co_spawn(ioc_, session(std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& ex) {
        spdlog::error("session ended by an exception: {}", ex.what());
      }
    });
  }
}

asio::awaitable<void> Server::session(tcp::socket socket) {
  Peer peer;
  boost::system::error_code pec;
  auto remote = socket.remote_endpoint(pec);
  if (!pec) peer.address = remote.address().to_string();
  auto local = socket.local_endpoint(pec);
  if (!pec) peer.local_port = local.port();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
    parser.body_limit(limits_.max_body_bytes);
    stream.expires_after(limits_.idle_timeout);
    [[maybe_unused]] auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
    if (hec == bhttp::error::header_limit) {
      Response res{bhttp::status::request_header_fields_too_large, 11};
      res.set(bhttp::field::content_type, "text/plain");
      res.body() = "Request header fields exceed " + std::to_string(limits_.header_bytes) + " bytes\n";
      res.keep_alive(false);
      res.prepare_payload();
      [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
      break;
    }
    if (hec) break;  // closed by the peer, idle timeout, or a malformed request
    auto const& header = parser.get().base();
    std::uint64_t limit = service_.body_limit(header);
    auto declared = parser.content_length();
    if (declared && *declared > limit) {
      Response res = service_.too_large(header);
      res.keep_alive(false);
      res.prepare_payload();
      [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
      break;
    }
    parser.body_limit(limit);
    util::make_body_room(buffer, parser);  // or a 45 MB upload takes ~35,000 reads
    if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, header.version()};
      [[maybe_unused]] auto [cec, cn] = co_await bhttp::async_write(stream, cont, use_tuple);
      if (cec) break;
    }
    stream.expires_after(limits_.read_timeout);
    auto read_started = std::chrono::steady_clock::now();
    [[maybe_unused]] auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    auto read_done = std::chrono::steady_clock::now();
    if (bec == bhttp::error::body_limit) {
      Response res = service_.too_large(parser.get().base());
      res.keep_alive(false);
      res.prepare_payload();
      [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
      break;
    }
    if (bec) break;
    stream.expires_never();
    Request req = parser.release();
    bool keep_alive = req.keep_alive() && !stopping_;
    StreamOut out(stream, req.version(), limits_.read_timeout);
    ++in_flight_;
    Response res;
    try {
      res = co_await service_.handle(std::move(req), peer, out);
    } catch (...) {
      --in_flight_;
      throw;
    }
    --in_flight_;
    if (out.started()) {
      if (!out.finished() || out.closes() || !keep_alive || stopping_) break;
      continue;
    }
    auto handled = std::chrono::steady_clock::now();
    using ms = std::chrono::duration<double, std::milli>;
    spdlog::debug("request body {} bytes read in {:.1f} ms, handled in {:.1f} ms", bn, ms(read_done - read_started).count(),
                  ms(handled - read_done).count());
    res.keep_alive(keep_alive && !stopping_);
    res.prepare_payload();
    [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, res, use_tuple);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace lambdad::http
