// The Runtime API's routes without sockets: the endpoint serves one side of
// a beast::test::stream pair, the test writes a runtime's raw requests on
// the other and reads the replies. /next, /response, a streamed /response
// with trailers, a wrong id, a second answer, /init/error, unknown paths.
#include <doctest/doctest.h>

#include "runtime-api/serve.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http/read.hpp>

using namespace lambdad::runtime_api;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

struct Collect final : ResponseSink {
  std::string content_type;
  std::vector<std::string> pieces;
  void begin(std::string type, bool) override { content_type = std::move(type); }
  asio::awaitable<void> write(std::string_view bytes) override {
    pieces.emplace_back(bytes);
    co_return;
  }
};

Invocation event(std::string id) {
  return Invocation{std::move(id), R"({"k":1})", 1700000000000, "arn:aws:lambda:us-east-1:000000000000:function:f",
                    "Root=1-5759e988-bd862e3fe1be46a994272793", std::nullopt, std::nullopt};
}

// The runtime's side: writes raw bytes, reads one reply.
struct Runtime {
  beast::test::stream& s;
  beast::flat_buffer buf;
  asio::awaitable<bhttp::response<bhttp::string_body>> send(std::string raw) {
    co_await asio::async_write(s, asio::buffer(raw), tuple);
    bhttp::response<bhttp::string_body> res;
    co_await bhttp::async_read(s, buf, res, tuple);
    co_return res;
  }
};

std::string post(std::string const& path, std::string const& body, std::string const& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

constexpr char kNext[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";

struct Run {
  asio::io_context ioc;
  std::shared_ptr<Endpoint> ep = std::make_shared<Endpoint>(ioc);
  beast::test::stream runtime_side{ioc}, server_side{ioc};
  Run() {
    runtime_side.connect(server_side);
    asio::co_spawn(ioc, ep->serve(server_side), asio::detached);
  }
};

}  // namespace

TEST_CASE("/next delivers the event with its headers; /response answers it; a second answer is refused") {
  Run r;
  std::vector<Outcome> outcomes;
  bhttp::response<bhttp::string_body> next, answered, again, wrong;
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    outcomes.push_back(co_await r.ep->invoke(event("id-1"), std::chrono::seconds(5), std::chrono::seconds(5)));
  }, asio::detached);
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    Runtime rt{r.runtime_side, {}};
    next = co_await rt.send(kNext);
    wrong = co_await rt.send(post("/2018-06-01/runtime/invocation/id-9/response", "{}"));
    answered = co_await rt.send(post("/2018-06-01/runtime/invocation/id-1/response", R"({"ok":true})"));
    again = co_await rt.send(post("/2018-06-01/runtime/invocation/id-1/response", "{}"));
    r.ep->close();
    r.runtime_side.close();
  }, asio::detached);
  r.ioc.run_for(std::chrono::seconds(10));
  CHECK(next.result_int() == 200);
  CHECK(next.body() == R"({"k":1})");
  CHECK(next["Lambda-Runtime-Aws-Request-Id"] == "id-1");
  CHECK(next["Lambda-Runtime-Deadline-Ms"] == "1700000000000");
  CHECK(next["Lambda-Runtime-Trace-Id"] == "Root=1-5759e988-bd862e3fe1be46a994272793");
  CHECK(wrong.result_int() == 400);
  CHECK(answered.result_int() == 202);
  CHECK(answered.body() == R"({"status":"OK"})");
  CHECK(again.result_int() == 403);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].kind == Outcome::Kind::Response);
  CHECK(outcomes[0].body == R"({"ok":true})");
}

TEST_CASE("a streamed /response: pieces to the sink as they come, trailers for an error") {
  Run r;
  auto sink = std::make_shared<Collect>();
  std::vector<Outcome> outcomes;
  std::vector<unsigned> statuses;
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    outcomes.push_back(co_await r.ep->invoke(event("s-1"), std::chrono::seconds(5), std::chrono::seconds(5), sink));
    outcomes.push_back(co_await r.ep->invoke(event("s-2"), std::chrono::seconds(5), std::chrono::seconds(5), sink));
  }, asio::detached);
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    Runtime rt{r.runtime_side, {}};
    std::string head =
        "Host: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
        "Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Body\r\n\r\n";
    co_await rt.send(kNext);
    auto ok = co_await rt.send("POST /2018-06-01/runtime/invocation/s-1/response HTTP/1.1\r\n" + head +
                               "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
    statuses.push_back(ok.result_int());
    co_await rt.send(kNext);
    // base64 of {"errorType":"E","errorMessage":"m"}
    auto failed = co_await rt.send("POST /2018-06-01/runtime/invocation/s-2/response HTTP/1.1\r\n" + head +
                                   "1\r\nx\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n"
                                   "Lambda-Runtime-Function-Error-Body: eyJlcnJvclR5cGUiOiJFIiwiZXJyb3JNZXNzYWdlIjoibSJ9\r\n\r\n");
    statuses.push_back(failed.result_int());
    r.ep->close();
    r.runtime_side.close();
  }, asio::detached);
  r.ioc.run_for(std::chrono::seconds(10));
  CHECK(statuses == std::vector<unsigned>{202, 202});
  CHECK(sink->content_type == "text/plain");
  std::string all;
  for (auto const& p : sink->pieces) all += p;
  CHECK(all == "abcdex");
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].kind == Outcome::Kind::Response);
  CHECK(outcomes[0].streamed);
  CHECK(outcomes[0].size == 5);
  CHECK(outcomes[1].kind == Outcome::Kind::FunctionError);
  CHECK(outcomes[1].error_type == "E");
  CHECK(outcomes[1].body == R"({"errorType":"E","errorMessage":"m"})");
}

TEST_CASE("/init/error is reported once; /next after it and unknown paths are refused") {
  Run r;
  std::string type, body;
  r.ep->on_init_error = [&](std::string t, std::string b) {
    type = std::move(t);
    body = std::move(b);
  };
  std::vector<unsigned> statuses;
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    Runtime rt{r.runtime_side, {}};
    auto unknown = co_await rt.send("GET /2018-06-01/runtime/nope HTTP/1.1\r\nHost: x\r\n\r\n");
    statuses.push_back(unknown.result_int());
    auto init = co_await rt.send(post("/2018-06-01/runtime/init/error", R"({"errorType":"X.Y","errorMessage":"no"})",
                                      "Lambda-Runtime-Function-Error-Type: X.Y\r\n"));
    statuses.push_back(init.result_int());
    auto next = co_await rt.send(kNext);
    statuses.push_back(next.result_int());
    r.ep->close();
    r.runtime_side.close();
  }, asio::detached);
  r.ioc.run_for(std::chrono::seconds(10));
  CHECK(statuses == std::vector<unsigned>{404, 202, 403});
  CHECK(type == "X.Y");
  CHECK(body == R"({"errorType":"X.Y","errorMessage":"no"})");
}

TEST_CASE("a retried Event invocation comes back with its request id: its answer is taken again") {
  Run r;
  std::vector<Outcome> outcomes;
  bhttp::response<bhttp::string_body> first, second, third;
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    outcomes.push_back(co_await r.ep->invoke(event("retry-1"), std::chrono::seconds(5), std::chrono::seconds(5)));
    outcomes.push_back(co_await r.ep->invoke(event("retry-1"), std::chrono::seconds(5), std::chrono::seconds(5)));
  }, asio::detached);
  asio::co_spawn(r.ioc, [&]() -> asio::awaitable<void> {
    Runtime rt{r.runtime_side, {}};
    co_await rt.send(kNext);
    first = co_await rt.send(post("/2018-06-01/runtime/invocation/retry-1/error", R"({"errorType":"Flaky"})"));
    co_await rt.send(kNext);
    second = co_await rt.send(post("/2018-06-01/runtime/invocation/retry-1/response", R"({"ok":2})"));
    third = co_await rt.send(post("/2018-06-01/runtime/invocation/retry-1/response", "{}"));
    r.ep->close();
    r.runtime_side.close();
  }, asio::detached);
  r.ioc.run_for(std::chrono::seconds(10));
  CHECK(first.result_int() == 202);
  CHECK(second.result_int() == 202);
  CHECK(third.result_int() == 403);
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].kind == Outcome::Kind::FunctionError);
  CHECK(outcomes[1].kind == Outcome::Kind::Response);
  CHECK(outcomes[1].body == R"({"ok":2})");
}
