#include "event.hpp"

#include "util/crypto.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <utility>

namespace lambdad::urls {

using nlohmann::json;
using std::chrono::system_clock;

namespace {

constexpr auto npos = std::string_view::npos;

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower_char(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f on every non-empty piece of s between separators.
template <class F>
void for_each_piece(std::string_view s, char separator, F&& f) {
  while (!s.empty()) {
    auto at = s.find(separator);
    auto piece = s.substr(0, at);
    if (!piece.empty()) f(piece);
    s = at == npos ? std::string_view{} : s.substr(at + 1);
  }
}

// RFC 9110 §7.6.1: a proxy does not forward these, and AWS doesn't: its
// recorded echo of a python-requests call (localstack test_lambda.snapshot.json
// test_lambda_url_echo_http_fixture_default) has no "connection", though
// requests sends "Connection: keep-alive". They describe one connection's
// framing, which is also why a function's response doesn't get to set them
// (nor Content-Length: the body we send is what sets it).
bool is_hop_by_hop(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 7> names = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"};
  for (auto n : names)
    if (n == lower_name) return true;
  return false;
}

// How many continuation bytes follow a UTF-8 lead byte; nullopt for a byte
// that can't lead.
std::optional<std::size_t> continuation_bytes(unsigned char c) {
  if (c < 0x80) return 0;
  if ((c & 0xE0) == 0xC0) return 1;
  if ((c & 0xF0) == 0xE0) return 2;
  if ((c & 0xF8) == 0xF0) return 3;
  return std::nullopt;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    auto more = continuation_bytes(c);
    if (!more || i + *more >= s.size()) return false;
    std::size_t extra = *more;
    std::uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 4> min = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// rawPath and rawQueryString: the request-target split at its first '?',
// both kept as received (AWS docs' example and the live capture, where
// "/capture/space%20value" stays encoded in rawPath).
std::pair<std::string, std::string> split_target(std::string_view target) {
  auto q = target.find('?');
  std::string path(target.substr(0, q));
  if (path.empty()) path = "/";
  return {path, q == npos ? std::string{} : std::string(target.substr(q + 1))};
}

// Every Cookie header split at ';', trimmed (the docs' "cookies":
// ["Cookie_1=Value_1", "Cookie_2=Value_2"]; the live capture has
// "session=abc123; theme=dark" → ["session=abc123", "theme=dark"]).
std::vector<std::string> request_cookies(std::vector<Header> const& headers) {
  std::vector<std::string> out;
  for (auto const& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    for_each_piece(h.value, ';', [&](std::string_view piece) {
      piece = trim(piece);
      if (!piece.empty()) out.emplace_back(piece);
    });
  }
  return out;
}

// Names lowercased, repeated headers joined with "," (the docs'
// "header2": "value1,value2"; the live capture's "x-voker-probe":
// "first,second"). Unlike API Gateway's HTTP APIs, a Function URL keeps the
// cookie header in "headers" as well as in "cookies" (the live capture has
// both; its API Gateway v2 twin, apigwv2-request.json, has no "cookie"
// header); repeated Cookie headers join with "; ", as cookie lists do
// (RFC 9113 §8.2.3), not with ",".
json event_headers(HttpRequest const& req, UrlContext const& ctx) {
  std::map<std::string, std::string> joined;
  for (auto const& h : req.headers) {
    auto name = to_lower(h.name);
    if (is_hop_by_hop(name)) continue;
    auto [it, fresh] = joined.try_emplace(name, h.value);
    if (!fresh) it->second += (name == "cookie" ? "; " : ",") + h.value;
  }
  joined.try_emplace("host", ctx.domain_name);
  // What AWS's front end adds (docs' and captures' x-forwarded-*): the peer
  // is who connected to us, and we serve plain HTTP. The TLS headers
  // (x-amzn-tls-version, x-amzn-tls-cipher-suite) have nothing to describe.
  joined["x-forwarded-for"] = req.source_ip;
  joined["x-forwarded-proto"] = "http";
  if (req.local_port != 0)
    joined["x-forwarded-port"] = std::to_string(req.local_port);
  else
    joined.erase("x-forwarded-port");
  // A trace header the client sent is propagated, as X-Ray does.
  joined.try_emplace("x-amzn-trace-id", trace_id(ctx.request_id, ctx.time));
  return json(joined);
}

// Keys and values percent-decoded with '+' as a space, a key without '='
// has the value "", repeated keys join with "," (the live capture:
// "literalPlus=a+b" → "a b", "encodedPlus=a%2Bb" → "a+b", "empty=" → "",
// "repeat=one&repeat=two" → "one,two"; localstack's AWS-recorded
// "multiQuery=foo&multiQuery=%2Fbar" → "foo,/bar").
json query_parameters(std::string_view raw_query) {
  json out = json::object();
  for_each_piece(raw_query, '&', [&](std::string_view piece) {
    auto eq = piece.find('=');
    auto key = percent_decode(piece.substr(0, eq), true);
    auto value = eq == npos ? std::string{} : percent_decode(piece.substr(eq + 1), true);
    auto it = out.find(key);
    if (it == out.end())
      out[key] = std::move(value);
    else
      *it = it->get<std::string>() + "," + value;
  });
  return out;
}

json iam_json(IamCaller const& iam) {
  return {{"accessKey", iam.access_key}, {"accountId", iam.account_id}, {"callerId", iam.caller_id},
          {"cognitoIdentity", nullptr},  {"principalOrgId", nullptr},   {"userArn", iam.user_arn},
          {"userId", iam.user_id}};
}

// requestContext.http.path is rawPath percent-decoded: the live capture has
// rawPath "/capture/space%20value" and path "/capture/space value"; an
// invalid escape stays ("/pa2%Fth/1" in both, localstack's AWS-recorded
// test_lambda_url_echo_http_fixture_default). '+' is a '+' in a path.
json request_context(HttpRequest const& req, UrlContext const& ctx, std::string const& raw_path) {
  auto epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.time.time_since_epoch()).count();
  json http = {{"method", req.method},
               {"path", percent_decode(raw_path, false)},
               {"protocol", "HTTP/1.1"},
               {"sourceIp", req.source_ip},
               {"userAgent", std::string(find_header(req.headers, "user-agent").value_or(""))}};
  json rc = {{"accountId", ctx.account_id}, {"apiId", ctx.url_id},       {"domainName", ctx.domain_name},
             {"domainPrefix", ctx.url_id},  {"http", std::move(http)},   {"requestId", ctx.request_id},
             {"routeKey", "$default"},      {"stage", "$default"},       {"time", format_time(ctx.time)},
             {"timeEpoch", epoch_ms}};
  // Only with AWS_IAM: a NONE URL's event has no "authorizer" (the AWS
  // sample event in powertools' tests/events/lambdaFunctionUrlEvent.json).
  if (ctx.iam) rc["authorizer"] = {{"iam", iam_json(*ctx.iam)}};
  return rc;
}

// No body: neither "body" nor a true isBase64Encoded (localstack's
// AWS-validated test_lambda_url_echo_invoke; AWS's GET sample event).
void add_body(json& event, HttpRequest const& req) {
  bool text = false;
  if (!req.body.empty()) {
    auto type = find_header(req.headers, "content-type");
    text = type && is_text_content_type(*type) && valid_utf8(req.body);
    event["body"] = text ? req.body : util::base64_encode(req.body);
  }
  event["isBase64Encoded"] = !req.body.empty() && !text;
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower_char(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  return true;
}

std::optional<std::string_view> find_header(std::vector<Header> const& headers, std::string_view name) {
  for (auto const& h : headers)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return out;
}

// AWS: "If the content type of the request is binary, the body is
// base64-encoded" (urls-invocation.md), and AWS's own Function URL slides
// (2022): unless Content-Type is application/json or text/*, the body
// arrives base64-encoded. localstack's AWS-recorded multipart/form-data
// upload (test_lambda_url_form_payload) arrives base64-encoded. The other two
// are the usual textual application types; no evidence was found for
// +json/+xml suffix types, so they are binary here.
bool is_text_content_type(std::string_view content_type) {
  auto type = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  if (type.starts_with("text/")) return type.size() > 5;
  return type == "application/json" || type == "application/javascript" || type == "application/xml";
}

std::string format_time(system_clock::time_point time) {
  static constexpr std::array<char const*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto secs = static_cast<std::time_t>(std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday,
                months[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// The live capture's "Root=1-6a5145aa-290a323a5de9a2e0636377d4" with
// timeEpoch 1783711146671: 0x6a5145aa is the request's epoch second.
std::string trace_id(std::string_view request_id, system_clock::time_point time) {
  auto secs = std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  char epoch[16];
  std::snprintf(epoch, sizeof epoch, "%08llx", static_cast<unsigned long long>(secs) & 0xffffffffULL);
  return "Root=1-" + std::string(epoch) + "-" + util::to_hex(util::sha256(request_id)).substr(0, 24);
}

json to_event(HttpRequest const& req, UrlContext const& ctx) {
  auto [raw_path, raw_query] = split_target(req.target);
  json event = {{"version", "2.0"}, {"routeKey", "$default"}, {"rawPath", raw_path}, {"rawQueryString", raw_query}};
  auto cookies = request_cookies(req.headers);
  if (!cookies.empty()) event["cookies"] = std::move(cookies);
  event["headers"] = event_headers(req, ctx);
  // Absent when there is no query (AWS's sample events have none then).
  auto query = query_parameters(raw_query);
  if (!query.empty()) event["queryStringParameters"] = std::move(query);
  event["requestContext"] = request_context(req, ctx, raw_path);
  add_body(event, req);
  return event;
}

namespace {

// An integer, or a string of digits: AWS takes "statusCode": "418"
// (localstack's AWS-validated test_lambda_url_headers_and_status). Anything
// else, or outside 100-599, is no HTTP status.
std::optional<unsigned> status_code(json const& v) {
  long long code = -1;
  if (v.is_number_integer()) {
    code = v.get<long long>();
  } else if (v.is_string()) {
    auto const& s = v.get_ref<std::string const&>();
    if (s.empty() || s.size() > 3) return std::nullopt;
    code = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      code = code * 10 + (c - '0');
    }
  }
  if (code < 100 || code > 599) return std::nullopt;
  return static_cast<unsigned>(code);
}

std::string compact(json const& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// "headers": values as strings (a number or a boolean as its JSON text);
// a null is no header. Framing headers are the server's, not the function's.
void add_function_headers(json const& headers, HttpResponse& out) {
  if (!headers.is_object()) return;
  for (auto const& [name, value] : headers.items()) {
    if (value.is_null() || is_hop_by_hop(to_lower(name)) || iequals(name, "content-length")) continue;
    out.headers.push_back({name, value.is_string() ? value.get<std::string>() : compact(value)});
  }
}

// The docs' "cookies": each one a Set-Cookie header of its own.
void add_function_cookies(json const& cookies, HttpResponse& out) {
  if (!cookies.is_array()) return;
  for (auto const& c : cookies)
    if (c.is_string()) out.headers.push_back({"Set-Cookie", c.get<std::string>()});
}

void default_content_type(HttpResponse& out) {
  if (!find_header(out.headers, "content-type")) out.headers.push_back({"Content-Type", "application/json"});
}

}  // namespace

HttpResponse response_head(json const& obj) {
  HttpResponse out;
  if (auto s = obj.find("statusCode"); s != obj.end()) {
    auto status = status_code(*s);
    if (!status) return function_error_response();
    out.status = *status;
  }
  if (auto h = obj.find("headers"); h != obj.end()) add_function_headers(*h, out);
  if (auto c = obj.find("cookies"); c != obj.end()) add_function_cookies(*c, out);
  return out;
}

namespace {

// A response with a "statusCode" is taken as the HTTP response itself.
// Content-Type defaults to application/json (localstack's AWS-recorded
// test_lambda_url_invocation[http-response]: {"statusCode": 200, "body":
// "body123"} is served as "body123" with Content-Type application/json).
// A body that is not a string is sent as its JSON text: AWS serves the
// object body of localstack's echo fixture (create_echo_http_server, used by
// AWS-recorded tests) as JSON; its exact spacing is not recorded, so compact.
HttpResponse structured_response(json const& obj) {
  auto status = status_code(obj.at("statusCode"));
  if (!status) return function_error_response();
  HttpResponse out;
  out.status = *status;
  if (auto h = obj.find("headers"); h != obj.end()) add_function_headers(*h, out);
  if (auto c = obj.find("cookies"); c != obj.end()) add_function_cookies(*c, out);
  auto body = obj.find("body");
  auto b64 = obj.find("isBase64Encoded");
  if (body == obj.end() || body->is_null()) {
    // no body
  } else if (!body->is_string()) {
    out.body = compact(*body);
  } else if (b64 != obj.end() && b64->is_boolean() && b64->get<bool>()) {
    auto decoded = util::base64_decode(body->get_ref<std::string const&>());
    if (!decoded) return function_error_response();
    out.body = std::move(*decoded);
  } else {
    out.body = body->get<std::string>();
  }
  default_content_type(out);
  return out;
}

}  // namespace

// Response inference (urls-invocation.md, "Lambda infers the response format
// for you"), byte-exact as AWS recorded it (localstack's
// test_lambda_url_invocation snapshots): any valid JSON without a statusCode
// is a 200 with Content-Type application/json whose body is the payload
// re-serialized compactly ({"hello": "world"} → {"hello":"world"},
// 17 bytes; ["hello", 3, True] → ["hello",3,true]), except that a JSON
// string is sent unwrapped ("hello" → hello, 5 bytes; the docs' table shows
// the quotes kept, but AWS's recording doesn't).
//
// A payload that is not JSON at all: the docs define inference only for
// "valid JSON", and API Gateway answers a malformed proxy response with 502;
// so the function's failure response here. (localstack instead serves the
// raw text with a 200; that is not AWS-recorded.)
HttpResponse from_payload(std::string_view payload) {
  auto parsed = json::parse(payload, nullptr, false);
  if (parsed.is_discarded()) return function_error_response();
  if (parsed.is_object() && parsed.contains("statusCode")) return structured_response(parsed);
  HttpResponse out;
  out.body = parsed.is_string() ? parsed.get<std::string>() : compact(parsed);
  default_content_type(out);
  return out;
}

// 502 "Internal Server Error" (localstack's AWS-validated
// test_lambda_url_invocation_exception checks the status and the body). The
// Content-Type is not recorded; application/json is what AWS's Function URL
// front end puts on its own answers elsewhere (the AWS-validated
// test_lambda_url_non_existing_url: 403 {"Message":null}, application/json)
// and on every inferred response, so it is assumed here too.
HttpResponse function_error_response() {
  return {.status = 502, .headers = {{"Content-Type", "application/json"}}, .body = "Internal Server Error"};
}

}  // namespace lambdad::urls
