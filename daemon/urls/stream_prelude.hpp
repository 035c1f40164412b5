// The head of a function URL's streamed answer in RESPONSE_STREAM mode:
// with Content-Type application/vnd.awslambda.http-integration-response
// (awslambda.HttpResponseStream.from) the runtime's bytes begin with a
// JSON object {statusCode, headers, cookies}, then eight NUL bytes, then
// the body. PreludeReader takes the bytes as they come and gives the head
// once the separator has arrived. Pure; any thread. AWS document followed:
// "Writing response streaming-enabled Lambda functions" (HttpResponseStream).
#pragma once

#include "event.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace lambdad::urls {

inline constexpr std::string_view kHttpIntegrationResponse = "application/vnd.awslambda.http-integration-response";

class PreludeReader {
 public:
  // A prelude longer than this without its separator is not one: the bytes
  // so far become the body of a 200.
  static constexpr std::size_t kMaxPrelude = 1 << 20;

  // Takes the next bytes. Once the head is known, returns the body bytes
  // that followed the separator in them (maybe none); before, nothing.
  std::optional<std::string> feed(std::string_view bytes);
  // The stream ended: a prelude never finished is the body of a 200.
  std::string end();
  bool done() const { return head_.has_value(); }
  HttpResponse const& head() const { return *head_; }

 private:
  std::string pending_;
  std::optional<HttpResponse> head_;
};

// The head a prelude object gives (response_head: its statusCode, 200 when
// absent, 502 when not a status; the function's headers without framing
// ones; each cookie as a Set-Cookie header). A prelude that is not a JSON
// object gives a 200 without headers.
HttpResponse head_of_prelude(std::string_view json_text);

}  // namespace lambdad::urls
