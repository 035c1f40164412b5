// The Runtime API's wire protocol without any I/O: which endpoint a request
// targets, the headers of a /next reply, and the error bodies with their
// statuses ({"errorMessage": ..., "errorType": ...}). The endpoint that
// serves one environment (next step of issue 3) is built on these. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::runtime_api {

// The largest response a function may return (Lambda's 6 MB sync limit,
// as the Runtime API enforces it).
constexpr std::size_t kMaxResponseBytes = 6291556;
// The largest streamed response (Lambda's 200 MB since 2025-07-31).
constexpr std::size_t kMaxStreamedBytes = 200u * 1024 * 1024;

enum class Route {
  Next,         // GET  /2018-06-01/runtime/invocation/next
  Response,     // POST /2018-06-01/runtime/invocation/{id}/response
  Error,        // POST /2018-06-01/runtime/invocation/{id}/error
  InitError,    // POST /2018-06-01/runtime/init/error
  ExtRegister,  // POST /2020-01-01/extension/register
  ExtNext,      // GET  /2020-01-01/extension/event/next
  ExtInitError, // POST /2020-01-01/extension/init/error
  ExtExitError, // POST /2020-01-01/extension/exit/error
  Unknown,
};

struct Target {
  Route route = Route::Unknown;
  std::string request_id;  // for Response and Error
};

// `method` as sent ("GET", "POST"); `target` the request target (path and
// query). A wrong method on a known path is Unknown.
Target parse_target(std::string_view method, std::string_view target);

struct Invocation {
  std::string request_id;
  std::string payload;
  std::int64_t deadline_epoch_ms = 0;
  std::string function_arn;
  std::string trace_id;
  std::optional<std::string> client_context;    // JSON, already decoded from base64
  std::optional<std::string> cognito_identity;  // JSON
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// The Lambda-Runtime-* headers of the /next reply that delivers `inv`.
Headers next_headers(Invocation const& inv);

struct ErrorReply {
  unsigned status;
  std::string body;  // {"errorMessage": ..., "errorType": ...}
};

ErrorReply invalid_request_id(std::string_view id);           // 400: not the invocation in flight
ErrorReply invalid_state_transition(std::string_view what);   // 403: e.g. a second response
ErrorReply payload_too_large(std::size_t size, std::size_t limit = kMaxResponseBytes);  // 413
ErrorReply unknown_endpoint(std::string_view method, std::string_view target);  // 404

// The Extensions API's events, as /extension/event/next delivers them.
std::string invoke_event(Invocation const& inv);
std::string shutdown_event(std::string_view reason, std::int64_t deadline_epoch_ms);
// The events an extension asks for at /register ({"events": ["INVOKE", "SHUTDOWN"]});
// nothing if the body is not that shape or names another event.
struct Subscription {
  bool invoke = false;
  bool shutdown = false;
};
std::optional<Subscription> parse_register(std::string_view body);
ErrorReply extension_error(unsigned status, std::string_view type, std::string message);

// The error type a runtime reports on /error or /init/error: the
// Lambda-Runtime-Function-Error-Type header, else the body's errorType, else
// "Runtime.Unknown" (the Node.js client sends no header, only the body).
std::string error_type_of(std::optional<std::string_view> header, std::string_view body);

}  // namespace lambdad::runtime_api
