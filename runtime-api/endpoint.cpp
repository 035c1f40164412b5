#include "endpoint.hpp"
#include "replies.hpp"
#include "serve.hpp"

#include "util/accept.hpp"
#include "util/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace lambdad::runtime_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;

using namespace detail;

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
  port_ = acceptor_.local_endpoint().port();
  return "127.0.0.1:" + std::to_string(port_);
}

bool Endpoint::adopt(int fd) {
  boost::system::error_code ec;
  acceptor_.assign(tcp::v4(), fd, ec);
  return !ec;
}

void Endpoint::start() { asio::co_spawn(ioc_, accept_loop(shared_from_this()), asio::detached); }

void Endpoint::close() {
  closed_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  next_signal_.cancel();
  for (auto& [id, e] : extensions_) notify(e.waiters);
  notify(settle_waiters_);
  if (!outcome_) finish(outcome_of(Outcome::Kind::Closed));
}

asio::awaitable<void> Endpoint::park(Waiters& list, std::chrono::steady_clock::time_point until) {
  asio::steady_timer timer(ioc_);
  timer.expires_at(until);
  list.push_back(&timer);
  [[maybe_unused]] auto [ec] = co_await timer.async_wait(use_tuple);
  std::erase(list, &timer);
}

void Endpoint::notify(Waiters& list) {
  for (auto* t : list) t->cancel();
}

void Endpoint::maybe_finish_init() {
  if (init_done_ || init_failed_ || !first_next_seen_ || extensions_.size() < expected_extensions_) return;
  for (auto const& [id, e] : extensions_)
    if (!e.parked) return;
  init_done_ = true;
  if (on_first_next) on_first_next();
  next_signal_.cancel();
}

bool Endpoint::settled() const {
  for (auto const& [id, e] : extensions_)
    if (!e.gone && !(e.parked && e.queue.empty())) return false;
  return true;
}

std::vector<Endpoint::ExtensionInfo> Endpoint::extensions() const {
  std::vector<std::pair<int, ExtensionInfo>> ordered;
  for (auto const& [id, e] : extensions_) ordered.push_back({e.order, ExtensionInfo{e.name, e.invoke, e.shutdown}});
  std::sort(ordered.begin(), ordered.end(), [](auto const& a, auto const& b) { return a.first < b.first; });
  std::vector<ExtensionInfo> out;
  for (auto& [order, info] : ordered) out.push_back(std::move(info));
  return out;
}

asio::awaitable<Endpoint::PhaseEnd> Endpoint::invoke_phase_over(std::chrono::steady_clock::time_point until) {
  auto self = shared_from_this();
  auto over = [&] { return closed_ || (runtime_parked_ && settled()); };
  while (!over() && std::chrono::steady_clock::now() < until) co_await park(settle_waiters_, until);
  if (closed_) co_return PhaseEnd::Closed;
  if (!runtime_parked_) co_return PhaseEnd::RuntimeBusy;
  if (!settled()) co_return PhaseEnd::ExtensionsBusy;
  co_return PhaseEnd::Next;
}

asio::awaitable<bool> Endpoint::extensions_settled(std::chrono::steady_clock::duration limit) {
  auto self = shared_from_this();
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!settled() && !closed_ && std::chrono::steady_clock::now() < deadline) co_await park(settle_waiters_, deadline);
  co_return settled() || closed_;
}

std::size_t Endpoint::shutdown_extensions(std::string const& reason, std::int64_t deadline_epoch_ms) {
  std::size_t n = 0;
  for (auto& [id, e] : extensions_) {
    if (!e.shutdown || e.gone) continue;
    e.queue.push_back(shutdown_event(reason, deadline_epoch_ms));
    notify(e.waiters);
    ++n;
  }
  return n;
}

Endpoint::Reply Endpoint::extension_register(Request const& req) {
  unsigned v = req.version();
  auto name = header(req, "Lambda-Extension-Name");
  if (!name || name->empty())
    return error_reply(extension_error(400, "InvalidRequestFormat", "Lambda-Extension-Name header is missing"), v);
  if (init_done_ || init_failed_)
    return error_reply(extension_error(403, "Extension.InvalidStateTransition",
                                       "extensions register during init; init of this environment is over"), v);
  auto sub = parse_register(req.body());
  if (!sub)
    return error_reply(extension_error(400, "InvalidRequestFormat",
                                       R"(the body must be {"events": [...]} with INVOKE and/or SHUTDOWN)"), v);
  for (auto const& [id, e] : extensions_)
    if (e.name == *name)
      return error_reply(extension_error(409, "Extension.AlreadyRegistered",
                                         "an extension named " + std::string(*name) + " is already registered"), v);
  std::string id = util::uuid4();
  Extension e;
  e.name = std::string(*name);
  e.invoke = sub->invoke;
  e.shutdown = sub->shutdown;
  e.order = static_cast<int>(extensions_.size());
  extensions_.emplace(id, std::move(e));
  nlohmann::json body{{"functionName", info_.name}, {"functionVersion", info_.version}, {"handler", info_.handler}};
  if (auto accept = header(req, "Lambda-Extension-Accept-Feature"); accept && accept->find("accountId") != std::string_view::npos)
    body["accountId"] = info_.account;
  Reply r = make_reply(200, body.dump(), v);
  r.set("Lambda-Extension-Identifier", id);
  return r;
}

asio::awaitable<Endpoint::Reply> Endpoint::extension_next(Request const& req,
                                                          std::optional<std::string>& delivered_shutdown_to) {
  unsigned v = req.version();
  auto id_header = header(req, "Lambda-Extension-Identifier");
  if (!id_header || id_header->empty())
    co_return error_reply(extension_error(403, "Extension.MissingExtensionIdentifier",
                                          "Lambda-Extension-Identifier header is missing"), v);
  std::string id(*id_header);
  auto it = extensions_.find(id);
  if (it == extensions_.end())
    co_return error_reply(extension_error(403, "Extension.UnknownExtensionIdentifier", "no extension " + id), v);
  Extension& e = it->second;  // entries are never erased
  e.parked = true;
  maybe_finish_init();
  notify(settle_waiters_);
  while (e.queue.empty() && !closed_) co_await park(e.waiters, std::chrono::steady_clock::time_point::max());
  e.parked = false;
  if (closed_) co_return Reply{};
  std::string event = std::move(e.queue.front());
  e.queue.erase(e.queue.begin());
  if (event.find(R"("eventType":"SHUTDOWN")") != std::string::npos) delivered_shutdown_to = id;
  Reply r = make_reply(200, std::move(event), v);
  r.set("Lambda-Extension-Event-Identifier", util::uuid4());
  co_return r;
}

void Endpoint::remember_answered(std::string id) {
  answered_.push_back(std::move(id));
  if (answered_.size() > 64) answered_.pop_front();
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
  finish(outcome_of(kind));
}

asio::awaitable<Outcome> Endpoint::invoke(Invocation inv, std::chrono::steady_clock::duration pickup,
                                          std::chrono::steady_clock::duration timeout,
                                          std::shared_ptr<ResponseSink> sink) {
  auto self = shared_from_this();
  if (closed_) co_return outcome_of(Outcome::Kind::Closed);
  outcome_.reset();
  sink_ = std::move(sink);
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
    finish(outcome_of(Outcome::Kind::TimedOut));
  }
  Outcome out = std::move(*outcome_);
  outcome_.reset();
  while (sink_writing_) co_await park(sink_waiters_, std::chrono::steady_clock::time_point::max());
  sink_.reset();  // a stream still coming (after a timeout) is read and dropped
  co_return out;
}

asio::awaitable<void> Endpoint::accept_loop(std::shared_ptr<Endpoint> self) {
  while (!closed_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec && !closed_ && util::is_accept_exhaustion(ec)) {
      co_await util::pause_accepting();  // the runtime's connection waits in the backlog
      continue;
    }
    if (ec) break;
    if (accept_filter) {
      boost::system::error_code pec;
      auto peer = socket.remote_endpoint(pec);
      if (pec || !accept_filter(peer.port())) {
        socket.close(pec);
        continue;
      }
    }
    asio::co_spawn(ioc_, session(self, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Endpoint::session([[maybe_unused]] std::shared_ptr<Endpoint> self, tcp::socket socket) {
  // `self` keeps the endpoint alive while a runtime is connected.
  beast::tcp_stream stream(std::move(socket));
  co_await serve(stream);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace lambdad::runtime_api
