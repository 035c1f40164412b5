// Invoke: POST /2015-03-31/functions/{name}/invocations. RequestResponse
// answers with the runtime's payload (200, X-Amz-Function-Error: Unhandled
// when it failed), DryRun 204, Event 202 once the event is on disk (events/queue.cpp runs it); Tail
// adds X-Amz-Log-Result. On the io_context thread.
#include "control_plane.hpp"
#include "util/json_check.hpp"

#include "../logs/format.hpp"
#include "util/crypto.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

Response executed(Response res, exec::FunctionImage const& fn) {
  res.set("X-Amz-Executed-Version", fn.version);
  return res;
}

Response throttled_response(Call const& call, std::string const& reason) {
  Response res = error_response(call, ApiError{429, "TooManyRequestsException", "Rate Exceeded.", reason});
  res.set("Retry-After", "1");
  return res;
}

model::ApiResult<PreparedInvoke> ControlPlane::prepare_invoke(Call& call, std::vector<std::string> const& types) {
  std::string name_text = call.param("name");
  // The Runtime Interface Emulator's path, /2015-03-31/functions/function/
  // invocations, so tests written for the RIE work: it means the configured
  // default function, or the only one deployed.
  if (name_text == "function" && !functions_.contains("function")) {
    if (!cfg_.default_function.empty()) name_text = cfg_.default_function;
    else if (functions_.size() == 1) name_text = functions_.all().begin()->first;
  }
  auto resolved = functions_.resolve(name_text, qualifier_of(call));
  if (!resolved) return resolved.error();
  if (!invoker_) return model::service_error("lambdad runs no functions in this mode");
  std::string type(call.req["X-Amz-Invocation-Type"]);
  if (type.empty()) type = "RequestResponse";
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    std::string set;
    for (auto const& t : types) set += (set.empty() ? "" : ", ") + t;
    return model::validation(type, "invocationType", "Member must satisfy enum value set: [" + set + "]");
  }
  auto& payload = call.req.body();
  std::uint64_t limit = type == "Event" ? cfg_.max_event_payload_bytes : cfg_.max_payload_bytes;
  // The code and sentences real Lambda answers with (botocore's model names the
  // shape RequestTooLargeException, but the service sends this code); an Event
  // over its own, smaller limit is told so in other words.
  if (payload.size() > limit)
    return ApiError{413, "RequestEntityTooLargeException",
                    type == "Event" ? std::to_string(payload.size()) +
                                          " byte payload is too large for the Event invocation type (limit " +
                                          std::to_string(limit) + " bytes)"
                                    : "Request must be smaller than " + std::to_string(limit) +
                                          " bytes for the InvokeFunction operation",
                    {}};
  if (payload.empty()) payload = "{}";
  if (!util::is_json(payload))
    return model::invalid_request_content("Could not parse request body into json: the payload is not valid JSON");
  PreparedInvoke p;
  p.type = type;
  p.qualifier = resolved->qualifier;
  p.req.payload = std::move(payload);
  p.req.invocation_type = type;
  std::string cc(call.req["X-Amz-Client-Context"]);
  if (!cc.empty()) {
    auto decoded = util::base64_decode(cc);
    if (!decoded || cc.size() > 3583 || !util::is_json(*decoded))
      return model::invalid_request_content("Client context must be a base64-encoded JSON object of at most 3583 bytes");
    p.req.client_context = *decoded;
  }
  // A weighted alias runs its additional version with that version's weight.
  auto fn = runnable(*resolved);
  if (!fn) return fn.error();
  p.fn = std::move(*fn);
  return p;
}

asio::awaitable<Response> ControlPlane::invoke(Call call) {
  auto prepared = prepare_invoke(call, {"Event", "RequestResponse", "DryRun"});
  if (!prepared) co_return error_response(call, prepared.error());
  auto& [fn, req, type, qualifier] = *prepared;
  if (type == "DryRun") co_return executed(empty_response(call, 204), fn);
  if (type == "Event") {
    // On disk before the 202 (the queue runs it, at least once, even after
    // a crash); a write that fails is answered 500 and nothing is queued.
    if (!queue_) co_return error_response(call, model::service_error("lambdad runs no functions in this mode"));
    events::QueuedEvent e;
    e.request_id = call.request_id;
    e.function = fn.name;
    e.qualifier = prepared->qualifier;
    e.payload = std::move(req.payload);
    e.client_context = std::move(req.client_context);
    e.accepted_ms = e.due_ms = events::now_ms();
    auto queued = co_await queue_->accept(std::move(e));
    if (!queued)
      co_return error_response(call, model::service_error("the event could not be queued: " + queued.error().message()));
    co_return executed(empty_response(call, 202), fn);
  }
  auto result = co_await invoker_->invoke(fn, req);
  if (result.refused) co_return error_response(call, ApiError{500, "ServiceException", *result.refused, {}});
  if (result.throttled) co_return throttled_response(call, *result.throttled);
  Response res{bhttp::status::ok, call.req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-amzn-RequestId", result.request_id);
  res.set("X-Amz-Executed-Version", fn.version);
  if (result.function_error) res.set("X-Amz-Function-Error", "Unhandled");
  if (call.req["X-Amz-Log-Type"] == "Tail") {
    // The Tail ends with END and REPORT, written when the invoke phase is
    // over: a caller who asks for it waits for that (at most the Timeout);
    // without Tail the answer goes out the moment the runtime posts it.
    if (result.phase_end) co_await result.phase_end->wait();
    res.set("X-Amz-Log-Result", logs::tail_header(result.phase_end ? result.phase_end->result.log : result.log));
  }
  res.body() = std::move(result.body);
  spdlog::info("function {}: invocation {}{}", fn.name, result.request_id, result.function_error ? " failed" : "");
  co_return res;
}

}  // namespace lambdad::api
