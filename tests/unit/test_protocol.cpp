// The Runtime API's routes, /next headers and error replies.
#include <doctest/doctest.h>

#include "protocol.hpp"

#include <nlohmann/json.hpp>

using namespace lambdad::runtime_api;
using nlohmann::json;

TEST_CASE("routes") {
  CHECK(parse_target("GET", "/2018-06-01/runtime/invocation/next").route == Route::Next);
  CHECK(parse_target("GET", "/2018-06-01/runtime/invocation/next?x=1").route == Route::Next);
  auto r = parse_target("POST", "/2018-06-01/runtime/invocation/abc-123/response");
  CHECK(r.route == Route::Response);
  CHECK(r.request_id == "abc-123");
  auto e = parse_target("POST", "/2018-06-01/runtime/invocation/abc-123/error");
  CHECK(e.route == Route::Error);
  CHECK(e.request_id == "abc-123");
  CHECK(parse_target("POST", "/2018-06-01/runtime/init/error").route == Route::InitError);
  CHECK(parse_target("POST", "/2018-06-01/runtime/invocation/next").route == Route::Unknown);
  CHECK(parse_target("GET", "/2018-06-01/runtime/invocation/abc/response").route == Route::Unknown);
  CHECK(parse_target("GET", "/2020-01-01/extension/event/next").route == Route::ExtNext);
  CHECK(parse_target("POST", "/2020-01-01/extension/register").route == Route::ExtRegister);
  CHECK(parse_target("POST", "/2020-01-01/extension/init/error").route == Route::ExtInitError);
  CHECK(parse_target("POST", "/2020-01-01/extension/exit/error").route == Route::ExtExitError);
  CHECK(parse_target("GET", "/2020-01-01/extension/register").route == Route::Unknown);
  CHECK(parse_target("PUT", "/2022-07-01/telemetry").route == Route::Unknown);
  CHECK(parse_target("POST", "/2018-06-01/runtime/invocation//response").route == Route::Unknown);
}

TEST_CASE("/next headers") {
  Invocation inv{"id-1", "{}", 1764331203001, "arn:aws:lambda:us-east-1:000000000000:function:f",
                 "Root=1-5e1b4151-5ac6c58f0d1e1c8e5f1b2b4d;Parent=1;Sampled=0", std::nullopt, std::nullopt};
  auto h = next_headers(inv);
  REQUIRE(h.size() == 4);
  CHECK(h[0] == std::pair<std::string, std::string>{"Lambda-Runtime-Aws-Request-Id", "id-1"});
  CHECK(h[1].second == "1764331203001");
  inv.client_context = R"({"custom":{"a":"b"}})";
  inv.cognito_identity = R"({"cognitoIdentityId":"x"})";
  h = next_headers(inv);
  REQUIRE(h.size() == 6);
  CHECK(h[4].first == "Lambda-Runtime-Client-Context");
  CHECK(h[5].first == "Lambda-Runtime-Cognito-Identity");
}

TEST_CASE("error replies") {
  auto bad = invalid_request_id("nope");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["errorType"] == "InvalidRequestID");
  auto twice = invalid_state_transition("a second response for id-1");
  CHECK(twice.status == 403);
  CHECK(json::parse(twice.body)["errorType"] == "InvalidStateTransition");
  auto big = payload_too_large(kMaxResponseBytes + 1);
  CHECK(big.status == 413);
  CHECK(json::parse(big.body)["errorMessage"].get<std::string>().find("6291557 bytes") != std::string::npos);
  CHECK(unknown_endpoint("GET", "/x").status == 404);
}

TEST_CASE("the error type: header first, then the body, then Runtime.Unknown") {
  CHECK(error_type_of(std::string_view("Runtime.ExitError"), "{}") == "Runtime.ExitError");
  CHECK(error_type_of(std::nullopt, R"({"errorType":"Error","errorMessage":"boom"})") == "Error");
  CHECK(error_type_of(std::string_view(""), R"({"errorType":"TypeError"})") == "TypeError");
  CHECK(error_type_of(std::nullopt, "not json") == "Runtime.Unknown");
}

TEST_CASE("Extensions API events and registration bodies") {
  Invocation inv{"id-1", "{}", 1764331203001, "arn:aws:lambda:us-east-1:000000000000:function:f", "Root=1-a;Sampled=0",
                 std::nullopt, std::nullopt};
  auto ev = json::parse(invoke_event(inv));
  CHECK(ev == json{{"eventType", "INVOKE"},
                   {"deadlineMs", 1764331203001},
                   {"requestId", "id-1"},
                   {"invokedFunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:f"},
                   {"tracing", {{"type", "X-Amzn-Trace-Id"}, {"value", "Root=1-a;Sampled=0"}}}});
  CHECK(json::parse(shutdown_event("spindown", 5)) ==
        json{{"eventType", "SHUTDOWN"}, {"shutdownReason", "spindown"}, {"deadlineMs", 5}});
  auto both = parse_register(R"({"events":["INVOKE","SHUTDOWN"]})");
  REQUIRE(both);
  CHECK(both->invoke);
  CHECK(both->shutdown);
  auto none = parse_register(R"({"events":[]})");
  REQUIRE(none);
  CHECK_FALSE(none->invoke);
  CHECK_FALSE(parse_register(R"({"events":["INVOKE","BOGUS"]})"));
  CHECK_FALSE(parse_register(R"({"evnts":["INVOKE"]})"));
  CHECK_FALSE(parse_register("not json"));
}
