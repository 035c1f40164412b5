#include "endpoint.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace lambdad::runtime_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

using Reply = bhttp::response<bhttp::string_body>;

Reply make_reply(unsigned status, std::string body, unsigned version) {
  Reply r{static_cast<bhttp::status>(status), version};
  r.set(bhttp::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}

Reply error_reply(ErrorReply const& e, unsigned version) { return make_reply(e.status, e.body, version); }

std::optional<std::string_view> header(bhttp::request<bhttp::string_body> const& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return it->value();
}

}  // namespace

Endpoint::Endpoint(asio::io_context& ioc)
    : ioc_(ioc), acceptor_(ioc), next_signal_(ioc), done_signal_(ioc) {}

Endpoint::~Endpoint() = default;

std::optional<std::string> Endpoint::listen() {
  boost::system::error_code ec;
  tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::nullopt;
  return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

void Endpoint::start() { asio::co_spawn(ioc_, accept_loop(shared_from_this()), asio::detached); }

void Endpoint::close() {
  closed_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  next_signal_.cancel();
  if (!outcome_) finish(Outcome{Outcome::Kind::Closed, {}, {}, {}, {}});
}

void Endpoint::finish(Outcome outcome) {
  outcome.dispatched_at = dispatched_at_;
  outcome.finished_at = std::chrono::steady_clock::now();
  outcome_ = std::move(outcome);
  done_signal_.cancel();
}

void Endpoint::abort(Outcome::Kind kind) {
  if (outcome_) return;
  pending_.reset();
  in_flight_.reset();
  finish(Outcome{kind, {}, {}, {}, {}});
}

asio::awaitable<Outcome> Endpoint::invoke(Invocation inv, std::chrono::steady_clock::duration pickup,
                                          std::chrono::steady_clock::duration timeout) {
  auto self = shared_from_this();
  if (closed_) co_return Outcome{Outcome::Kind::Closed, {}, {}, {}, {}};
  outcome_.reset();
  answered_.reset();
  dispatched_at_.reset();
  timeout_ = timeout;
  pending_ = std::move(inv);
  next_signal_.cancel();  // a runtime parked in /next takes it now
  done_signal_.expires_after(pickup);
  for (;;) {
    auto [ec] = co_await done_signal_.async_wait(use_tuple);
    if (outcome_) break;
    // Cancelled without an outcome: /next re-armed the timer for `timeout`.
    if (ec == asio::error::operation_aborted) continue;
    pending_.reset();
    in_flight_.reset();
    finish(Outcome{Outcome::Kind::TimedOut, {}, {}, {}, {}});
  }
  Outcome out = std::move(*outcome_);
  outcome_.reset();
  co_return out;
}

asio::awaitable<void> Endpoint::accept_loop(std::shared_ptr<Endpoint> self) {
  while (!closed_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec) break;
    asio::co_spawn(ioc_, session(self, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Endpoint::session([[maybe_unused]] std::shared_ptr<Endpoint> self, tcp::socket socket) {
  // `self` keeps the endpoint alive while a runtime is connected.
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    // A body over the limit is still read (to answer 413 on a live connection).
    parser.body_limit(kMaxResponseBytes * 2);
    [[maybe_unused]] auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (rec) break;
    auto req = parser.release();
    unsigned v = req.version();
    auto target = parse_target(req.method_string(), req.target());
    Reply reply;
    if (target.route == Route::Next) {
      if (!first_next_seen_) {
        first_next_seen_ = true;
        if (on_first_next) on_first_next();
      }
      if (init_failed_) {
        reply = error_reply(invalid_state_transition("/next after the runtime reported an init error"), v);
      } else if (in_flight_) {
        reply = error_reply(invalid_state_transition("/next while invocation " + *in_flight_ + " is unanswered"), v);
      } else {
        while (!pending_ && !closed_) {
          next_signal_.expires_at(std::chrono::steady_clock::time_point::max());
          [[maybe_unused]] auto [wec] = co_await next_signal_.async_wait(use_tuple);
        }
        if (closed_) break;
        Invocation inv = std::move(*pending_);
        pending_.reset();
        in_flight_ = inv.request_id;
        dispatched_at_ = std::chrono::steady_clock::now();
        done_signal_.expires_at(*dispatched_at_ + timeout_);  // the function's Timeout runs from here
        reply = make_reply(200, inv.payload, v);
        for (auto const& [name, value] : next_headers(inv)) reply.set(name, value);
      }
    } else if (target.route == Route::Response || target.route == Route::Error) {
      if (!in_flight_ && answered_ && *answered_ == target.request_id) {
        reply = error_reply(invalid_state_transition("a second answer for " + target.request_id), v);
      } else if (!in_flight_ || *in_flight_ != target.request_id) {
        reply = error_reply(invalid_request_id(target.request_id), v);
      } else if (target.route == Route::Response && req.body().size() > kMaxResponseBytes) {
        reply = error_reply(payload_too_large(req.body().size()), v);
        answered_ = std::move(*in_flight_);
        in_flight_.reset();
        finish(Outcome{Outcome::Kind::TooLarge, {}, "Function.ResponseSizeTooLarge", {}, {}});
      } else {
        answered_ = std::move(*in_flight_);
        in_flight_.reset();
        reply = make_reply(202, R"({"status":"OK"})", v);
        if (target.route == Route::Response) {
          finish(Outcome{Outcome::Kind::Response, std::move(req.body()), {}, {}, {}});
        } else {
          auto type = error_type_of(header(req, "Lambda-Runtime-Function-Error-Type"), req.body());
          finish(Outcome{Outcome::Kind::FunctionError, std::move(req.body()), std::move(type), {}, {}});
        }
      }
    } else if (target.route == Route::InitError && first_next_seen_) {
      reply = error_reply(invalid_state_transition("/init/error after init ended"), v);
    } else if (target.route == Route::InitError) {
      init_failed_ = true;
      reply = make_reply(202, R"({"status":"OK"})", v);
      auto type = error_type_of(header(req, "Lambda-Runtime-Function-Error-Type"), req.body());
      if (on_init_error) on_init_error(std::move(type), std::move(req.body()));
    } else {
      reply = error_reply(unknown_endpoint(req.method_string(), req.target()), v);
    }
    reply.keep_alive(req.keep_alive());
    reply.prepare_payload();
    [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, reply, use_tuple);
    if (wec || !reply.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace lambdad::runtime_api
