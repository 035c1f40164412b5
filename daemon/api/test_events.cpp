// Saved test events, as the console's Test tab keeps them per function
// ("Testing Lambda functions in the console": private test events):
// GET /_lambdad/test-events/{name} lists them, GET/PUT/DELETE
// /_lambdad/test-events/{name}/{event} reads, saves and removes one. An
// event is any JSON document, kept exactly as given; names follow the
// console's rule. Disk work on the store strand.
#include "control_plane.hpp"
#include "util/json_check.hpp"

#include "util/offload.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

ApiError bad_name(std::string const& name) {
  return model::invalid_parameter("A test event name is 1 to 25 letters, digits, '.', '-' or '_': `" + name + "`");
}

// The function (resolved to its name) and the test event a path names.
struct EventRef {
  std::string function, event;
};

model::ApiResult<EventRef> event_ref(registry::FunctionRegistry const& functions, Call const& call) {
  auto name = functions.resolve_unqualified(call.param("name"));
  if (!name) return name.error();
  std::string event = call.param("event");
  if (!store::TestEvents::valid_name(event)) return bad_name(event);
  return EventRef{*name, event};
}

ApiError no_such_event(EventRef const& r) {
  return model::not_found("Function " + r.function + " has no test event named " + r.event);
}

ApiError store_error(Error const& e) {
  return model::service_error("lambdad could not read or write the test events: " + e.message());
}

}  // namespace

asio::awaitable<Response> ControlPlane::list_test_events(Call call) {
  auto name = functions_.resolve_unqualified(call.param("name"));
  if (!name) co_return error_response(call, name.error());
  auto job = [this, fn = *name] { return test_events_.list(fn); };
  auto found = co_await util::offload(strand_, std::move(job));
  if (!found) co_return error_response(call, store_error(found.error()));
  json events = json::array();
  for (auto const& [event, text] : *found)
    events.push_back({{"Name", event}, {"Event", json::parse(text, nullptr, false)}});
  co_return json_response(call, 200, {{"FunctionName", *name}, {"TestEvents", events}});
}

asio::awaitable<Response> ControlPlane::get_test_event(Call call) {
  auto ref = event_ref(functions_, call);
  if (!ref) co_return error_response(call, ref.error());
  auto job = [this, r = *ref] { return test_events_.get(r.function, r.event); };
  auto found = co_await util::offload(strand_, std::move(job));
  if (!found) co_return error_response(call, store_error(found.error()));
  if (!*found)
    co_return error_response(call, no_such_event(*ref));
  Response res{bhttp::status::ok, call.req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-amzn-RequestId", call.request_id);
  res.body() = std::move(**found);
  co_return res;
}

asio::awaitable<Response> ControlPlane::put_test_event(Call call) {
  auto ref = event_ref(functions_, call);
  if (!ref) co_return error_response(call, ref.error());
  if (functions_.busy(ref->function)) co_return error_response(call, update_in_progress(ref->function));  // being deleted, say
  if (!util::is_json(call.req.body()))
    co_return error_response(call, model::invalid_request_content(
                                       "Could not parse request body into json: a test event is a JSON document"));
  auto job = [this, r = *ref, text = std::move(call.req.body())] { return test_events_.put(r.function, r.event, text); };
  auto saved = co_await util::offload(strand_, std::move(job));
  if (!saved) co_return error_response(call, store_error(saved.error()));
  spdlog::info("function {}: test event {} saved", ref->function, ref->event);
  co_return json_response(call, 200, {{"FunctionName", ref->function}, {"Name", ref->event}});
}

asio::awaitable<Response> ControlPlane::delete_test_event(Call call) {
  auto ref = event_ref(functions_, call);
  if (!ref) co_return error_response(call, ref.error());
  auto job = [this, r = *ref] { return test_events_.remove(r.function, r.event); };
  auto removed = co_await util::offload(strand_, std::move(job));
  if (!removed) co_return error_response(call, store_error(removed.error()));
  if (!*removed)
    co_return error_response(call, no_such_event(*ref));
  co_return empty_response(call, 204);
}

}  // namespace lambdad::api
