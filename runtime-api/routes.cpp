// The Runtime API's routes over the endpoint's state: what each request
// does and the reply it gets. Endpoint::serve (serve.hpp) reads requests and
// writes the replies, and reads a streamed /response as it arrives.
#include "endpoint.hpp"
#include "replies.hpp"
#include "serve.hpp"


#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace lambdad::runtime_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace detail;

asio::awaitable<std::optional<Endpoint::Reply>> Endpoint::dispatch(Request& req, Target const& target,
                                                                  std::optional<std::string>& delivered_shutdown_to) {
  unsigned v = req.version();
  switch (target.route) {
    case Route::Next:
      co_return co_await next(req);
    case Route::Response:
    case Route::Error:
      co_return answer(req, target);
    case Route::ExtRegister:
      co_return extension_register(req);
    case Route::ExtNext: {
      auto reply = co_await extension_next(req, delivered_shutdown_to);
      if (closed_) co_return std::nullopt;
      co_return reply;
    }
    case Route::ExtInitError:
    case Route::ExtExitError:
      co_return extension_error_report(req, target);
    case Route::InitError:
      co_return init_error(req);
    case Route::Unknown:
      break;
  }
  co_return error_reply(unknown_endpoint(req.method_string(), req.target()), v);
}

asio::awaitable<std::optional<Endpoint::Reply>> Endpoint::next(Request const& req) {
  unsigned v = req.version();
  first_next_seen_ = true;
  maybe_finish_init();
  if (init_failed_) co_return error_reply(invalid_state_transition("/next after the runtime reported an init error"), v);
  if (in_flight_)
    co_return error_reply(invalid_state_transition("/next while invocation " + *in_flight_ + " is unanswered"), v);
  // Parked until there is an event and init is over (every extension is
  // ready too). Parked after init, the runtime has ended the invoke phase
  // of the invocation before.
  while ((!pending_ || !init_done_) && !closed_ && !init_failed_) {
    runtime_parked_ = init_done_;
    if (runtime_parked_) notify(settle_waiters_);
    next_signal_.expires_at(std::chrono::steady_clock::time_point::max());
    [[maybe_unused]] auto [wec] = co_await next_signal_.async_wait(use_tuple);
  }
  runtime_parked_ = false;
  if (closed_) co_return std::nullopt;
  if (init_failed_) co_return error_reply(invalid_state_transition("/next after an init error"), v);
  Invocation inv = std::move(*pending_);
  pending_.reset();
  in_flight_ = inv.request_id;
  dispatched_at_ = std::chrono::steady_clock::now();
  done_signal_.expires_at(*dispatched_at_ + timeout_);  // the function's Timeout runs from here
  for (auto& [id, e] : extensions_) {
    if (!e.invoke) continue;
    e.queue.push_back(invoke_event(inv));
    notify(e.waiters);
  }
  Reply reply = make_reply(200, inv.payload, v);
  for (auto const& [name, value] : next_headers(inv)) reply.set(name, value);
  co_return reply;
}

std::optional<ErrorReply> Endpoint::answer_refusal(std::string const& id) const {
  if (streaming_ && *streaming_ == id) return invalid_state_transition("a second answer for " + id);
  // The invocation in flight first: a retried Event invocation comes back
  // with the request id its earlier attempt was answered under.
  if (in_flight_ && *in_flight_ == id) return std::nullopt;
  if (std::find(answered_.begin(), answered_.end(), id) != answered_.end())
    return invalid_state_transition("a second answer for " + id);
  return invalid_request_id(id);
}

Endpoint::Reply Endpoint::answer(Request& req, Target const& target) {
  unsigned v = req.version();
  if (auto refusal = answer_refusal(target.request_id)) return error_reply(*refusal, v);
  remember_answered(std::move(*in_flight_));
  in_flight_.reset();
  if (target.route == Route::Response && req.body().size() > kMaxResponseBytes) {
    finish(Outcome{Outcome::Kind::TooLarge, {}, "Function.ResponseSizeTooLarge", req.body().size(), false, {}, {},
                   kMaxResponseBytes});
    return error_reply(payload_too_large(req.body().size()), v);
  }
  if (target.route == Route::Response) {
    finish(Outcome{Outcome::Kind::Response, std::move(req.body()), {}, 0, false, {}, {}});
  } else {
    auto type = error_type_of(header(req, "Lambda-Runtime-Function-Error-Type"), req.body());
    finish(Outcome{Outcome::Kind::FunctionError, std::move(req.body()), std::move(type), 0, false, {}, {}});
  }
  return make_reply(202, R"({"status":"OK"})", v);
}

Endpoint::Reply Endpoint::extension_error_report(Request& req, Target const& target) {
  unsigned v = req.version();
  auto id = header(req, "Lambda-Extension-Identifier");
  if (!id || !extensions_.count(std::string(*id)))
    return error_reply(extension_error(403, "Extension.UnknownExtensionIdentifier",
                                       "unknown or missing Lambda-Extension-Identifier"), v);
  if (target.route == Route::ExtInitError && init_done_)
    return error_reply(invalid_state_transition("/extension/init/error after init ended"), v);
  if (target.route == Route::ExtInitError && !init_failed_) {
    init_failed_ = true;
    next_signal_.cancel();
    auto type = error_type_of(header(req, "Lambda-Extension-Function-Error-Type"), req.body());
    if (on_init_error) on_init_error(std::move(type), std::move(req.body()));
  }
  return make_reply(202, R"({"status":"OK"})", v);
}

Endpoint::Reply Endpoint::init_error(Request& req) {
  unsigned v = req.version();
  if (first_next_seen_) return error_reply(invalid_state_transition("/init/error after init ended"), v);
  init_failed_ = true;
  next_signal_.cancel();
  auto type = error_type_of(header(req, "Lambda-Runtime-Function-Error-Type"), req.body());
  if (on_init_error) on_init_error(std::move(type), std::move(req.body()));
  return make_reply(202, R"({"status":"OK"})", v);
}

}  // namespace lambdad::runtime_api
