// Sample events of HTTP front ends: API Gateway's REST API proxy
// integration (payload format 1.0), its HTTP APIs (2.0) and Lambda function
// URLs (2.0). The 2.0 events are made by the daemon's own function URL
// translation (urls/event.hpp) from a request as a client would send it, so
// `generate-event lambda function-url` is what a function behind lambdad's
// URLs receives; an HTTP API event differs in its ids, domain, account and
// stage. Shapes: the developer guide's "Using Lambda with API Gateway" and
// "Lambda function URL request and response payloads" examples.
#include "cli/sample_events.hpp"

#include "urls/event.hpp"
#include "util/clock.hpp"

#include <array>
#include <utility>

namespace lambdad::cli::sample {

using json = nlohmann::ordered_json;

namespace {

constexpr char const* kSourceIp = "127.0.0.1";
constexpr char const* kUserAgent = "lambdad-generate-event";

struct HttpInput {
  std::string method;  // upper case
  std::string path;    // without the query
  std::string query;   // after '?', as given
};

Result<HttpInput> http_input(Args const& a) {
  HttpInput in;
  for (char c : a.get("method")) in.method += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  static constexpr std::array<char const*, 7> methods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  bool known = false;
  for (auto const* m : methods) known = known || in.method == m;
  if (!known) return plain_error("--method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, not `" +
                                 a.get("method") + "`");
  auto const& target = a.get("path");
  if (target.empty() || target[0] != '/') return plain_error("--path must start with '/', not `" + target + "`");
  auto q = target.find('?');
  in.path = target.substr(0, q);
  if (q != std::string::npos) in.query = target.substr(q + 1);
  return in;
}

// application/json when the body is JSON, else text/plain (both reach the
// function as text).
std::string content_type(std::string const& body) {
  return json::accept(body) ? "application/json" : "text/plain";
}

// queryStringParameters (a repeated key keeps its last value) and
// multiValueQueryStringParameters, decoded; both null without a query.
std::pair<json, json> rest_query(std::string const& raw) {
  if (raw.empty()) return {nullptr, nullptr};
  json single = json::object(), multi = json::object();
  std::size_t start = 0;
  while (start <= raw.size()) {
    auto end = raw.find('&', start);
    if (end == std::string::npos) end = raw.size();
    auto piece = std::string_view(raw).substr(start, end - start);
    start = end + 1;
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    auto key = urls::percent_decode(piece.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::string{} : urls::percent_decode(piece.substr(eq + 1), true);
    single[key] = value;
    multi[key].push_back(value);
  }
  return {single, multi};
}

json rest_headers(Args const& a, std::string const& domain, std::string const& request_id) {
  json headers = {{"Accept", "*/*"},
                  {"Host", domain},
                  {"User-Agent", kUserAgent},
                  {"X-Amzn-Trace-Id", urls::trace_id(request_id, a.now())},
                  {"X-Forwarded-For", kSourceIp},
                  {"X-Forwarded-Port", "443"},
                  {"X-Forwarded-Proto", "https"}};
  if (a.has("body")) {
    headers["Content-Type"] = content_type(a.get("body"));
    headers["Content-Length"] = std::to_string(a.get("body").size());
  }
  return headers;
}

json rest_identity() {
  json identity = json::object();
  for (auto const* field : {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
                            "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user", "userArn"})
    identity[field] = nullptr;
  identity["sourceIp"] = kSourceIp;
  identity["userAgent"] = kUserAgent;
  return identity;
}

}  // namespace

// A `/{proxy+}` resource (`/` for the root path), as SAM's sample has.
Result<json> rest_api_event(Args const& a) {
  auto in = http_input(a);
  if (!in) return in.error();
  auto const& stage = a.get("stage");
  auto api_id = random_hex(10);
  auto domain = api_id + ".execute-api." + a.get("region") + ".amazonaws.com";
  auto request_id = util::uuid4();
  bool root = in->path == "/";
  auto resource = root ? std::string("/") : std::string("/{proxy+}");
  auto headers = rest_headers(a, domain, request_id);
  json multi_headers = json::object();
  for (auto const& [name, value] : headers.items()) multi_headers[name] = json::array({value});
  auto [query, multi_query] = rest_query(in->query);
  json context = {{"accountId", a.get("account")},
                  {"apiId", api_id},
                  {"domainName", domain},
                  {"domainPrefix", api_id},
                  {"extendedRequestId", random_base64(12)},
                  {"httpMethod", in->method},
                  {"identity", rest_identity()},
                  {"path", "/" + stage + in->path},
                  {"protocol", "HTTP/1.1"},
                  {"requestId", request_id},
                  {"requestTime", urls::format_time(a.now())},
                  {"requestTimeEpoch", epoch_ms(a.now())},
                  {"resourceId", random_hex(6)},
                  {"resourcePath", resource},
                  {"stage", stage}};
  return json{{"resource", resource},
              {"path", in->path},
              {"httpMethod", in->method},
              {"headers", std::move(headers)},
              {"multiValueHeaders", std::move(multi_headers)},
              {"queryStringParameters", std::move(query)},
              {"multiValueQueryStringParameters", std::move(multi_query)},
              {"pathParameters", root ? json(nullptr) : json{{"proxy", in->path.substr(1)}}},
              {"stageVariables", nullptr},
              {"requestContext", std::move(context)},
              {"body", a.has("body") ? json(a.get("body")) : json(nullptr)},
              {"isBase64Encoded", false}};
}

namespace {

// The 2.0 event of a request to `target` on `domain`, as the daemon's
// function URLs make it; reached over HTTPS on 443, as on AWS.
json v2_event(Args const& a, HttpInput const& in, std::string target, urls::UrlContext const& ctx) {
  if (!in.query.empty()) target += "?" + in.query;
  urls::HttpRequest req{.method = in.method,
                        .target = std::move(target),
                        .headers = {{"accept", "*/*"}, {"user-agent", kUserAgent}},
                        .body = a.get("body"),
                        .source_ip = kSourceIp,
                        .local_port = 443};
  if (a.has("body")) {
    req.headers.push_back({"content-type", content_type(a.get("body"))});
    req.headers.push_back({"content-length", std::to_string(a.get("body").size())});
  }
  auto made = urls::to_event(req, ctx);
  made["headers"]["x-forwarded-proto"] = "https";
  // In the order of AWS's example (to_event's keys are sorted).
  json event;
  for (auto const* key : {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers", "queryStringParameters",
                          "requestContext", "body", "pathParameters", "isBase64Encoded", "stageVariables"})
    if (made.contains(key)) event[key] = made[key];
  return event;
}

urls::UrlContext v2_context(Args const& a, std::string id, std::string domain, std::string account) {
  return {.url_id = std::move(id),
          .domain_name = std::move(domain),
          .account_id = std::move(account),
          .request_id = util::uuid4(),
          .time = a.now(),
          .iam = std::nullopt};
}

}  // namespace

// A named stage's name is the first segment of rawPath, as on AWS; the
// $default stage has none.
Result<json> http_api_event(Args const& a) {
  auto in = http_input(a);
  if (!in) return in.error();
  auto const& stage = a.get("stage");
  if (stage.empty()) return plain_error("--stage must not be empty ($default is the default stage)");
  auto api_id = random_hex(10);
  auto ctx = v2_context(a, api_id, api_id + ".execute-api." + a.get("region") + ".amazonaws.com", a.get("account"));
  auto event = v2_event(a, *in, stage == "$default" ? in->path : "/" + stage + in->path, ctx);
  event["requestContext"]["stage"] = stage;
  return event;
}

// Auth type NONE: accountId "anonymous" and no authorizer, as on AWS.
Result<json> function_url_event(Args const& a) {
  auto in = http_input(a);
  if (!in) return in.error();
  auto url_id = random_hex(32);
  auto ctx = v2_context(a, url_id, url_id + ".lambda-url." + a.get("region") + ".on.aws", "anonymous");
  return v2_event(a, *in, in->path, ctx);
}

}  // namespace lambdad::cli::sample
