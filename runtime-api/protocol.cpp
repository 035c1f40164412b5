#include "protocol.hpp"

#include <nlohmann/json.hpp>

namespace lambdad::runtime_api {

using nlohmann::json;

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto end = path.find('/');
    out.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return out;
}

ErrorReply reply(unsigned status, std::string_view type, std::string message) {
  return {status, json{{"errorMessage", std::move(message)}, {"errorType", type}}.dump()};
}

}  // namespace

Target parse_target(std::string_view method, std::string_view target) {
  auto q = target.find('?');
  auto seg = segments(target.substr(0, q));
  bool get = method == "GET";
  bool post = method == "POST";
  if (seg.size() == 3 && seg[0] == "2020-01-01" && seg[1] == "extension" && seg[2] == "register" && post)
    return {Route::ExtRegister, {}};
  if (seg.size() == 4 && seg[0] == "2020-01-01" && seg[1] == "extension") {
    if (seg[2] == "event" && seg[3] == "next" && get) return {Route::ExtNext, {}};
    if (seg[2] == "init" && seg[3] == "error" && post) return {Route::ExtInitError, {}};
    if (seg[2] == "exit" && seg[3] == "error" && post) return {Route::ExtExitError, {}};
  }
  if (seg.size() < 3 || seg[0] != "2018-06-01" || seg[1] != "runtime") return {};
  if (seg.size() == 4 && seg[2] == "invocation" && seg[3] == "next" && get) return {Route::Next, {}};
  if (seg.size() == 4 && seg[2] == "init" && seg[3] == "error" && post) return {Route::InitError, {}};
  if (seg.size() == 5 && seg[2] == "invocation" && post && !seg[3].empty()) {
    if (seg[4] == "response") return {Route::Response, std::string(seg[3])};
    if (seg[4] == "error") return {Route::Error, std::string(seg[3])};
  }
  return {};
}

Headers next_headers(Invocation const& inv) {
  Headers h = {{"Lambda-Runtime-Aws-Request-Id", inv.request_id},
               {"Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_epoch_ms)},
               {"Lambda-Runtime-Invoked-Function-Arn", inv.function_arn},
               {"Lambda-Runtime-Trace-Id", inv.trace_id}};
  if (inv.client_context) h.emplace_back("Lambda-Runtime-Client-Context", *inv.client_context);
  if (inv.cognito_identity) h.emplace_back("Lambda-Runtime-Cognito-Identity", *inv.cognito_identity);
  return h;
}

std::string invoke_event(Invocation const& inv) {
  return json{{"eventType", "INVOKE"},
              {"deadlineMs", inv.deadline_epoch_ms},
              {"requestId", inv.request_id},
              {"invokedFunctionArn", inv.function_arn},
              {"tracing", {{"type", "X-Amzn-Trace-Id"}, {"value", inv.trace_id}}}}
      .dump();
}

std::string shutdown_event(std::string_view reason, std::int64_t deadline_epoch_ms) {
  return json{{"eventType", "SHUTDOWN"}, {"shutdownReason", reason}, {"deadlineMs", deadline_epoch_ms}}.dump();
}

std::optional<Subscription> parse_register(std::string_view body) {
  auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) return std::nullopt;
  Subscription sub;
  for (auto const& e : doc["events"]) {
    if (e == "INVOKE") sub.invoke = true;
    else if (e == "SHUTDOWN") sub.shutdown = true;
    else return std::nullopt;
  }
  return sub;
}

ErrorReply extension_error(unsigned status, std::string_view type, std::string message) {
  return reply(status, type, std::move(message));
}

ErrorReply invalid_request_id(std::string_view id) {
  return reply(400, "InvalidRequestID", "Invalid request ID: " + std::string(id));
}

ErrorReply invalid_state_transition(std::string_view what) {
  return reply(403, "InvalidStateTransition", "State transition is not allowed: " + std::string(what));
}

ErrorReply payload_too_large(std::size_t size, std::size_t limit) {
  return reply(413, "RequestEntityTooLarge",
               "Response payload size (" + std::to_string(size) + " bytes) exceeded maximum allowed payload size (" +
                   std::to_string(limit) + " bytes).");
}

ErrorReply unknown_endpoint(std::string_view method, std::string_view target) {
  return reply(404, "UnknownEndpoint", "No such endpoint: " + std::string(method) + " " + std::string(target));
}

std::string error_type_of(std::optional<std::string_view> header, std::string_view body) {
  if (header && !header->empty()) return std::string(*header);
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("errorType") && doc["errorType"].is_string()) {
    auto t = doc["errorType"].get<std::string>();
    if (!t.empty()) return t;
  }
  return "Runtime.Unknown";
}

}  // namespace lambdad::runtime_api
