// Lambda function URLs, the pure half: an HTTP request (plain data) becomes
// the payload format 2.0 event, and an invoke's result becomes the HTTP
// response. No sockets, no clock, no randomness: the caller converts from and
// to Beast, and passes the time and the request id in.
//
// Sources: AWS's "Invoking Lambda function URLs" (urls-invocation.md), the
// AWS-recorded snapshots of localstack's tests/aws/services/lambda_/
// test_lambda.py::TestLambdaURL, and live AWS captures of a Function URL event
// (hotsock/voker vokerhttp/testdata/functionurl-request.json, us-west-2, 2026).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lambdad::urls {

// As received, in order; names in any case.
struct Header {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;  // "GET"
  // The raw request-target in origin form ("/a%20b/c?x=1&x=2&y"); an
  // absolute-form prefix is the caller's to strip.
  std::string target;
  std::vector<Header> headers;
  std::string body;
  std::string source_ip;    // the peer's address
  unsigned local_port = 0;  // the port the request came in on: x-forwarded-port (0: none)
};

// The caller's identity when the URL's AuthType is AWS_IAM.
struct IamCaller {
  std::string access_key;
  std::string account_id;
  std::string caller_id;
  std::string user_arn;
  std::string user_id;
};

struct UrlContext {
  std::string url_id;       // 32 [a-z0-9]: requestContext.apiId and domainPrefix
  std::string domain_name;  // "<url_id>.lambda-url.us-east-1.on.aws", or the Host used
  std::string account_id;   // "anonymous" for AuthType NONE
  std::string request_id;
  std::chrono::system_clock::time_point time;
  std::optional<IamCaller> iam;
};

struct HttpResponse {
  unsigned status = 200;
  std::vector<Header> headers;
  std::string body;
};

// ASCII lowercase, and case-insensitive equality (header names, origins).
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// The first header of that name (any case), if any.
std::optional<std::string_view> find_header(std::vector<Header> const& headers, std::string_view name);

// %XX decoded to its byte; a '%' not followed by two hex digits stays as it
// is. With plus_is_space (query strings), '+' is a space.
std::string percent_decode(std::string_view text, bool plus_is_space);
// Whether a request body of this Content-Type reaches the function as text
// (isBase64Encoded false): text/*, application/json, application/javascript,
// application/xml, parameters (charset...) ignored.
bool is_text_content_type(std::string_view content_type);
// requestContext.time: "12/Mar/2020:19:03:58 +0000" (UTC).
std::string format_time(std::chrono::system_clock::time_point time);
// x-amzn-trace-id: "Root=1-<8 hex epoch seconds>-<24 hex>", the 24 hex digits
// derived from the request id (a SHA-256 prefix), so the same request id gives
// the same trace id.
std::string trace_id(std::string_view request_id, std::chrono::system_clock::time_point time);

// The event the function receives. Strings in it (headers, decoded query
// values and path) may hold bytes that are not UTF-8 (a "%FF" in the query):
// serialize with nlohmann::json::error_handler_t::replace. A body that is not
// UTF-8 is always sent as base64.
nlohmann::json to_event(HttpRequest const& req, UrlContext const& ctx);

// The HTTP response for an invoke that succeeded with this payload (response
// inference, see from_payload's comments in event.cpp).
HttpResponse from_payload(std::string_view payload);
// The status (200 when absent; a bad one: the 502 of function_error_response),
// headers (the function's, framing ones left out) and cookies (Set-Cookie)
// of a response object, without its body: a streamed answer's prelude.
HttpResponse response_head(nlohmann::json const& obj);
// What the client sees when the function failed (an unhandled error, a
// timeout, a crash) or returned something no response can be made of.
HttpResponse function_error_response();

}  // namespace lambdad::urls
