// Function URLs' pure translation: request → payload format 2.0 event,
// payload → HTTP response, and CORS. Expectations are byte-exact; where they
// copy an AWS recording, the comment names it.
#include <doctest/doctest.h>

#include "urls/cors.hpp"
#include "urls/event.hpp"

#include <chrono>
#include <string>
#include <vector>

using namespace lambdad::urls;
using nlohmann::json;

namespace {

constexpr char const* url_id = "abcdefghijklmnopqrstuvwxyz012345";
constexpr char const* domain = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

std::chrono::system_clock::time_point at_ms(long long ms) {
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
}

UrlContext context(std::string request_id = "11111111-2222-3333-4444-555555555555") {
  return {.url_id = url_id,
          .domain_name = domain,
          .account_id = "anonymous",
          .request_id = std::move(request_id),
          .time = at_ms(1584039838390),  // 2020-03-12T19:03:58.390Z
          .iam = std::nullopt};
}

HttpRequest request(std::string method, std::string target, std::vector<Header> headers, std::string body = "") {
  return {.method = std::move(method),
          .target = std::move(target),
          .headers = std::move(headers),
          .body = std::move(body),
          .source_ip = "10.0.0.7",
          .local_port = 0};
}

// Headers as "Name: value" lines, in order, for readable comparisons.
std::string lines(std::vector<Header> const& headers) {
  std::string out;
  for (auto const& h : headers) out += h.name + ": " + h.value + "\n";
  return out;
}

}  // namespace

TEST_CASE("the whole event of a request: paths, query, headers, cookies, context, text body") {
  auto req = request("POST", "/a%20b/c+d?x=1&x=2&y&q=a+b%2Fc&e=%ZZ",
                     {{"Host", domain},
                      {"User-Agent", "curl/8.7.1"},
                      {"X-Dup", "one"},
                      {"Cookie", "a=1; b=2"},
                      {"x-dup", "two"},
                      {"Cookie", "c=3"},
                      {"Connection", "keep-alive"},
                      {"Content-Type", "text/plain; charset=utf-8"},
                      {"Content-Length", "2"},
                      {"X-Forwarded-For", "1.2.3.4"}},
                     "hi");
  req.local_port = 9000;
  auto expected = json::parse(R"({
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/a%20b/c+d",
    "rawQueryString": "x=1&x=2&y&q=a+b%2Fc&e=%ZZ",
    "cookies": ["a=1", "b=2", "c=3"],
    "headers": {
      "content-length": "2",
      "content-type": "text/plain; charset=utf-8",
      "cookie": "a=1; b=2; c=3",
      "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
      "user-agent": "curl/8.7.1",
      "x-amzn-trace-id": "Root=1-5e6a879e-666ff6ccaa5b3c07feaa3a95",
      "x-dup": "one,two",
      "x-forwarded-for": "10.0.0.7",
      "x-forwarded-port": "9000",
      "x-forwarded-proto": "http"
    },
    "queryStringParameters": {"e": "%ZZ", "q": "a b/c", "x": "1,2", "y": ""},
    "requestContext": {
      "accountId": "anonymous",
      "apiId": "abcdefghijklmnopqrstuvwxyz012345",
      "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
      "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
      "http": {"method": "POST", "path": "/a b/c+d", "protocol": "HTTP/1.1",
               "sourceIp": "10.0.0.7", "userAgent": "curl/8.7.1"},
      "requestId": "11111111-2222-3333-4444-555555555555",
      "routeKey": "$default",
      "stage": "$default",
      "time": "12/Mar/2020:19:03:58 +0000",
      "timeEpoch": 1584039838390
    },
    "body": "hi",
    "isBase64Encoded": false
  })");
  CHECK(to_event(req, context()).dump() == expected.dump());
}

TEST_CASE("the live AWS capture's request gives its query, paths and trace id") {
  // hotsock/voker vokerhttp/testdata/functionurl-request.json (us-west-2, 2026).
  auto req = request("POST",
                     "/capture/space%20value?repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com%2Fa%2Fb"
                     "&literalPlus=a+b&encodedPlus=a%2Bb&empty=",
                     {{"Cookie", "session=abc123; theme=dark"}, {"x-voker-probe", "first"}, {"x-voker-probe", "second"}});
  auto ctx = context();
  ctx.time = at_ms(1783711146671);
  auto event = to_event(req, ctx);
  CHECK(event["rawPath"] == "/capture/space%20value");
  CHECK(event["requestContext"]["http"]["path"] == "/capture/space value");
  CHECK(event["queryStringParameters"].dump() ==
        R"({"empty":"","encodedPlus":"a+b","literalPlus":"a b","redirect":"https://example.com/a/b","repeat":"one,two"})");
  CHECK(event["cookies"].dump() == R"(["session=abc123","theme=dark"])");
  CHECK(event["headers"]["cookie"] == "session=abc123; theme=dark");
  CHECK(event["headers"]["x-voker-probe"] == "first,second");
  CHECK(event["requestContext"]["time"] == "10/Jul/2026:19:19:06 +0000");
  CHECK(event["headers"]["x-amzn-trace-id"].get<std::string>().starts_with("Root=1-6a5145aa-"));
}

TEST_CASE("no query, no cookies, no body: those members are absent") {
  auto req = request("GET", "/", {});
  req.source_ip = "::1";
  auto event = to_event(req, context());
  CHECK_FALSE(event.contains("queryStringParameters"));
  CHECK_FALSE(event.contains("cookies"));
  CHECK_FALSE(event.contains("body"));
  CHECK_FALSE(event["requestContext"].contains("authorizer"));
  CHECK(event["isBase64Encoded"] == false);
  CHECK(event["rawQueryString"] == "");
  CHECK(event["requestContext"]["http"]["userAgent"] == "");
  CHECK(event["requestContext"]["http"]["sourceIp"] == "::1");
  // No Host header: the URL's domain; no local port: no x-forwarded-port.
  CHECK(event["headers"].dump() ==
        R"({"host":"abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",)"
        R"("x-amzn-trace-id":"Root=1-5e6a879e-666ff6ccaa5b3c07feaa3a95",)"
        R"("x-forwarded-for":"::1","x-forwarded-proto":"http"})");

  auto bare = to_event(request("GET", "/p?", {}), context());
  CHECK(bare["rawPath"] == "/p");
  CHECK(bare["rawQueryString"] == "");
  CHECK_FALSE(bare.contains("queryStringParameters"));
  CHECK(to_event(request("GET", "?a=b", {}), context())["rawPath"] == "/");
  CHECK(to_event(request("GET", "/?&&", {}), context()).contains("queryStringParameters") == false);
}

TEST_CASE("percent-decoding: valid escapes only; '+' is a space only in a query") {
  CHECK(percent_decode("a%2Fb%2fc", false) == "a/b/c");
  CHECK(percent_decode("%Ft%2", false) == "%Ft%2");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b%2B", true) == "a b+");
  CHECK(percent_decode("%", true) == "%");
  // AWS-recorded (localstack test_lambda_url_echo_http_fixture_default).
  CHECK(to_event(request("POST", "/pa2%Fth/1?multiQuery=foo&multiQuery=%2Fbar", {}), context())["requestContext"]["http"]
            ["path"] == "/pa2%Fth/1");
}

TEST_CASE("the body is text for textual content types and base64 otherwise") {
  struct Case {
    char const* type;  // nullptr: no Content-Type
    bool base64;
  };
  std::vector<Case> cases = {{nullptr, true},
                             {"application/octet-stream", true},
                             {"application/x-www-form-urlencoded", true},
                             {"multipart/form-data; boundary=4efd159eae0c4f4e125a5a509e073d85", true},
                             {"image/png", true},
                             {"application/vnd.api+json", true},
                             {"text/", true},
                             {"text/plain", false},
                             {"Text/HTML; charset=UTF-8", false},
                             {"application/json", false},
                             {"application/json; charset=utf-8", false},
                             {" APPLICATION/XML ", false},
                             {"application/javascript", false}};
  for (auto const& c : cases) {
    CAPTURE(std::string(c.type ? c.type : "(none)"));
    std::vector<Header> headers;
    if (c.type) headers.push_back({"Content-Type", c.type});
    auto event = to_event(request("POST", "/", headers, "{'key':'value'}"), context());
    CHECK(event["isBase64Encoded"] == c.base64);
    CHECK(event["body"] == (c.base64 ? "eydrZXknOid2YWx1ZSd9" : "{'key':'value'}"));
  }
  // Text that is not UTF-8 can't be a JSON string: base64 keeps it whole.
  auto latin1 = to_event(request("POST", "/", {{"content-type", "text/plain"}}, "caf\xe9"), context());
  CHECK(latin1["isBase64Encoded"] == true);
  CHECK(latin1["body"] == "Y2Fm6Q==");
  for (char const* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\x80"}) {
    CAPTURE(std::string(bad));
    CHECK(to_event(request("POST", "/", {{"content-type", "text/plain"}}, bad), context())["isBase64Encoded"] == true);
  }
  CHECK(to_event(request("POST", "/", {{"content-type", "text/plain"}}, "\xf0\x9f\x98\x80\xe2\x82\xac"),
                 context())["isBase64Encoded"] == false);
  auto utf8 = to_event(request("POST", "/", {{"content-type", "application/json"}}, "\"lambda-\xce\xbb\""), context());
  CHECK(utf8["isBase64Encoded"] == false);
  CHECK(utf8["body"] == "\"lambda-\xce\xbb\"");
  // Bytes that are not UTF-8 in a decoded query still serialize, replaced.
  auto odd = to_event(request("GET", "/?k=%FF", {}), context());
  CHECK(odd["queryStringParameters"].dump(-1, ' ', false, json::error_handler_t::replace) == "{\"k\":\"\xef\xbf\xbd\"}");
}

TEST_CASE("time, epoch and trace id come from the context, deterministically") {
  // The AWS sample event: timeEpoch 1659687279885 is "05/Aug/2022:08:14:39 +0000".
  CHECK(format_time(at_ms(1659687279885)) == "05/Aug/2022:08:14:39 +0000");
  CHECK(format_time(at_ms(0)) == "01/Jan/1970:00:00:00 +0000");
  CHECK(format_time(at_ms(1703980800999)) == "31/Dec/2023:00:00:00 +0000");
  CHECK(trace_id("req-2", at_ms(1584039838390)) == "Root=1-5e6a879e-a697f8b99a46c8465b9a70e7");
  CHECK(trace_id("req-2", at_ms(1584039838390)) == trace_id("req-2", at_ms(1584039838999)));
  auto event = to_event(request("GET", "/", {}), context("req-2"));
  CHECK(event["requestContext"]["timeEpoch"] == 1584039838390);
  CHECK(event["headers"]["x-amzn-trace-id"] == "Root=1-5e6a879e-a697f8b99a46c8465b9a70e7");
  // A trace header the client sent is kept.
  auto traced = to_event(request("GET", "/", {{"X-Amzn-Trace-Id", "Root=1-00000001-abc"}}), context());
  CHECK(traced["headers"]["x-amzn-trace-id"] == "Root=1-00000001-abc");
}

TEST_CASE("an AWS_IAM caller is the authorizer") {
  auto ctx = context();
  ctx.account_id = "123456789012";
  ctx.iam = IamCaller{.access_key = "AKIAEXAMPLE",
                      .account_id = "111122223333",
                      .caller_id = "AIDAEXAMPLE",
                      .user_arn = "arn:aws:iam::111122223333:user/example-user",
                      .user_id = "AIDAEXAMPLE"};
  auto event = to_event(request("GET", "/", {}), ctx);
  CHECK(event["requestContext"]["accountId"] == "123456789012");
  CHECK(event["requestContext"]["authorizer"].dump() ==
        R"({"iam":{"accessKey":"AKIAEXAMPLE","accountId":"111122223333","callerId":"AIDAEXAMPLE",)"
        R"("cognitoIdentity":null,"principalOrgId":null,"userArn":"arn:aws:iam::111122223333:user/example-user",)"
        R"("userId":"AIDAEXAMPLE"}})");
}

TEST_CASE("payloads without a statusCode: 200 application/json, re-serialized, strings unwrapped") {
  // localstack's AWS-recorded test_lambda_url_invocation snapshots.
  struct Case {
    char const* payload;
    char const* body;
  };
  std::vector<Case> cases = {{R"({"hello": "world"})", R"({"hello":"world"})"},
                             {R"(["hello", 3, true])", R"(["hello",3,true])"},
                             {R"("hello")", "hello"},
                             {"3", "3"},
                             {"3.1", "3.1"},
                             {"true", "true"},
                             {"null", "null"},
                             {R"( {"body": "x", "headers": {"a": "b"}} )", R"({"body":"x","headers":{"a":"b"}})"}};
  for (auto const& c : cases) {
    CAPTURE(std::string(c.payload));
    auto resp = from_payload(c.payload);
    CHECK(resp.status == 200);
    CHECK(lines(resp.headers) == "Content-Type: application/json\n");
    CHECK(resp.body == c.body);
  }
}

TEST_CASE("payloads with a statusCode are the HTTP response") {
  auto plain = from_payload(R"({"statusCode": 200, "body": "body123"})");
  CHECK(plain.status == 200);
  CHECK(lines(plain.headers) == "Content-Type: application/json\n");
  CHECK(plain.body == "body123");

  auto full = from_payload(R"({"statusCode": 201,
      "headers": {"content-type": "text/html", "X-Num": 5, "X-Bool": true, "X-Null": null,
                  "Content-Length": "999", "Connection": "close"},
      "cookies": ["Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT", "Cookie_2=Value2; Max-Age=78000"],
      "body": "PGI+aGk8L2I+", "isBase64Encoded": true})");
  CHECK(full.status == 201);
  CHECK(lines(full.headers) ==
        "X-Bool: true\nX-Num: 5\ncontent-type: text/html\n"
        "Set-Cookie: Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT\nSet-Cookie: Cookie_2=Value2; Max-Age=78000\n");
  CHECK(full.body == "<b>hi</b>");

  // localstack's AWS-validated test_lambda_url_headers_and_status.
  auto teapot = from_payload(R"({"statusCode": "418", "body": "i'm a teapot", "isBase64Encoded": false})");
  CHECK(teapot.status == 418);
  CHECK(teapot.body == "i'm a teapot");

  auto empty = from_payload(R"({"statusCode": 204})");
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  CHECK(lines(empty.headers) == "Content-Type: application/json\n");

  auto object_body = from_payload(R"({"statusCode": 200, "body": {"foo": "bar", "n": [1, 2]}})");
  CHECK(object_body.body == R"({"foo":"bar","n":[1,2]})");
  auto unencoded = from_payload(R"({"statusCode": 200, "body": "PGI+", "isBase64Encoded": "yes"})");
  CHECK(unencoded.body == "PGI+");
}

TEST_CASE("what no response can be made of is the function error: 502 Internal Server Error") {
  auto error = function_error_response();
  CHECK(error.status == 502);
  CHECK(lines(error.headers) == "Content-Type: application/json\n");
  CHECK(error.body == "Internal Server Error");
  for (char const* payload : {"not json", "", "{\"statusCode\": 200", R"({"statusCode": "abc"})", R"({"statusCode": 99})",
                              R"({"statusCode": 600})", R"({"statusCode": 2.5e2})", R"({"statusCode": null})",
                              R"({"statusCode": 200, "body": "%%%", "isBase64Encoded": true})"}) {
    CAPTURE(std::string(payload));
    auto resp = from_payload(payload);
    CHECK(resp.status == 502);
    CHECK(resp.body == "Internal Server Error");
  }
}

TEST_CASE("CORS configuration: the API shape, only the members set") {
  auto cors = cors_from_json(json::parse(
      R"({"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", 7], "MaxAge": 300, "Other": 1})"));
  CHECK(cors.allow_origins == std::vector<std::string>{"https://example.com"});
  CHECK(cors.allow_methods == std::vector<std::string>{"GET"});
  CHECK(cors.max_age == 300);
  CHECK_FALSE(cors.allow_credentials);
  CHECK(to_json(cors).dump() == R"({"AllowMethods":["GET"],"AllowOrigins":["https://example.com"],"MaxAge":300})");
  auto all = R"({"AllowCredentials":false,"AllowHeaders":["x-a"],"AllowMethods":["*"],"AllowOrigins":["*"],)"
             R"("ExposeHeaders":["x-b","x-c"],"MaxAge":0})";
  CHECK(to_json(cors_from_json(json::parse(all))).dump() == all);
  CHECK(to_json(cors_from_json(json::array())).dump() == "{}");
}

TEST_CASE("preflights: OPTIONS with Origin and Access-Control-Request-Method") {
  std::vector<Header> pre = {{"Origin", "https://example.com"}, {"Access-Control-Request-Method", "PUT"}};
  CHECK(is_preflight(request("OPTIONS", "/", pre)));
  CHECK_FALSE(is_preflight(request("GET", "/", pre)));
  CHECK_FALSE(is_preflight(request("OPTIONS", "/", {{"Origin", "https://example.com"}})));
  CHECK_FALSE(is_preflight(request("OPTIONS", "/", {{"Access-Control-Request-Method", "PUT"}})));

  Cors cors{.allow_credentials = std::nullopt,
            .allow_headers = {"content-type", "x-custom"},
            .allow_methods = {"GET", "PUT"},
            .allow_origins = {"https://example.com", "http://localhost:60905"},
            .expose_headers = {"x-exposed"},
            .max_age = 300};
  auto matched = preflight(cors, request("OPTIONS", "/x", {{"origin", "HTTPS://Example.COM"}, pre[1]}));
  CHECK(matched.status == 200);
  CHECK(matched.body.empty());
  CHECK(lines(matched.headers) ==
        "Access-Control-Allow-Origin: HTTPS://Example.COM\nVary: Origin\nAccess-Control-Allow-Methods: GET,PUT\n"
        "Access-Control-Allow-Headers: content-type,x-custom\nAccess-Control-Max-Age: 300\n");

  auto unmatched = preflight(cors, request("OPTIONS", "/", {{"Origin", "https://evil.example"}, pre[1]}));
  CHECK(unmatched.status == 200);
  CHECK(unmatched.headers.empty());
  CHECK(preflight(cors, request("OPTIONS", "/", {{"Origin", "https://example.com:8443"}, pre[1]})).headers.empty());

  Cors any{.allow_credentials = std::nullopt,
           .allow_headers = {},
           .allow_methods = {"*"},
           .allow_origins = {"*"},
           .expose_headers = {},
           .max_age = std::nullopt};
  CHECK(lines(preflight(any, request("OPTIONS", "/", pre)).headers) ==
        "Access-Control-Allow-Origin: *\nAccess-Control-Allow-Methods: *\n");
  any.allow_credentials = true;
  CHECK(lines(preflight(any, request("OPTIONS", "/", pre)).headers) ==
        "Access-Control-Allow-Origin: https://example.com\nAccess-Control-Allow-Credentials: true\nVary: Origin\n"
        "Access-Control-Allow-Methods: *\n");
}

TEST_CASE("responses: the configured CORS headers win over the function's own") {
  Cors cors{.allow_credentials = true,
            .allow_headers = {"x-h"},
            .allow_methods = {"GET"},
            .allow_origins = {"https://example.com"},
            .expose_headers = {"x-one", "x-two"},
            .max_age = 60};
  auto from_function = [] {
    return HttpResponse{.status = 201,
                        .headers = {{"Access-Control-Allow-Origin", "*"},
                                    {"content-type", "text/plain"},
                                    {"access-control-expose-headers", "x-secret"},
                                    {"Vary", "Accept-Encoding"}},
                        .body = "ok"};
  };
  auto resp = from_function();
  apply_cors(cors, request("GET", "/", {{"Origin", "https://example.com"}}), resp);
  CHECK(resp.status == 201);
  CHECK(resp.body == "ok");
  CHECK(lines(resp.headers) ==
        "content-type: text/plain\nVary: Accept-Encoding, Origin\n"
        "Access-Control-Allow-Origin: https://example.com\nAccess-Control-Allow-Credentials: true\n"
        "Access-Control-Expose-Headers: x-one,x-two\n");

  // An origin that isn't allowed, or none: the function's CORS headers still go.
  for (auto const& headers : {std::vector<Header>{{"Origin", "https://other.example"}}, std::vector<Header>{}}) {
    auto plain = from_function();
    apply_cors(cors, request("GET", "/", headers), plain);
    CHECK(lines(plain.headers) == "content-type: text/plain\nVary: Accept-Encoding\n");
  }

  // "*" without credentials: no Vary; an existing Vary on Origin isn't repeated.
  Cors any{.allow_credentials = false,
           .allow_headers = {},
           .allow_methods = {},
           .allow_origins = {"*"},
           .expose_headers = {},
           .max_age = std::nullopt};
  HttpResponse star{.status = 200, .headers = {{"vary", "origin"}}, .body = ""};
  apply_cors(any, request("POST", "/", {{"Origin", "https://a.example"}}), star);
  CHECK(lines(star.headers) == "vary: origin\nAccess-Control-Allow-Origin: *\n");
  auto error = function_error_response();
  apply_cors(cors, request("POST", "/", {{"Origin", "https://example.com"}}), error);
  CHECK(error.status == 502);
  CHECK(find_header(error.headers, "access-control-allow-origin") == "https://example.com");
}
