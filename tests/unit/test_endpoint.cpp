// The Runtime API endpoint against a real runtime client: a shell + curl
// bootstrap (the shape of AWS's custom runtime tutorial) spawned with
// sandbox::spawn. Responses, function errors, a wrong request id, a timeout.
#include <doctest/doctest.h>

#include "endpoint.hpp"
#include "process.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <vector>

using namespace lambdad;
using namespace lambdad::runtime_api;
namespace asio = boost::asio;

namespace {

char const* kBootstrap = R"(#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
H=$(mktemp)
while true; do
  EVENT=$(curl -sS -D "$H" "$API/invocation/next") || exit 1
  ID=$(sed -n 's/^Lambda-Runtime-Aws-Request-Id: *//Ip' "$H" | tr -d '\r')
  case "$EVENT" in
    '"fail"') curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Err' \
                -d '{"errorMessage":"boom","errorType":"Custom.Err"}' "$API/invocation/$ID/error" >/dev/null ;;
    '"badid"') CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$API/invocation/not-$ID/response")
               curl -sS -X POST -d "{\"status\":$CODE}" "$API/invocation/$ID/response" >/dev/null ;;
    '"hang"') sleep 30 ;;
    *) curl -sS -X POST -d "{\"echo\":$EVENT}" "$API/invocation/$ID/response" >/dev/null ;;
  esac
done
)";

struct Results {
  std::vector<Outcome> outcomes;
  bool first_next = false;
};

Invocation event(std::string id, std::string payload) {
  return Invocation{std::move(id), std::move(payload), 0, "arn:aws:lambda:us-east-1:000000000000:function:f",
                    "Root=1-00000000-000000000000000000000000", std::nullopt, std::nullopt};
}

asio::awaitable<void> drive(std::shared_ptr<Endpoint> ep, Results* out) {
  using namespace std::chrono;
  auto r1 = co_await ep->invoke(event("id-1", R"({"n":1})"), seconds(10), seconds(10));
  out->outcomes.push_back(r1);
  auto r2 = co_await ep->invoke(event("id-2", R"({"n":2})"), seconds(10), seconds(10));
  out->outcomes.push_back(r2);
  auto r3 = co_await ep->invoke(event("id-3", R"("fail")"), seconds(10), seconds(10));
  out->outcomes.push_back(r3);
  auto r4 = co_await ep->invoke(event("id-4", R"("badid")"), seconds(10), seconds(10));
  out->outcomes.push_back(r4);
  auto r5 = co_await ep->invoke(event("id-5", R"("hang")"), seconds(10), milliseconds(300));
  out->outcomes.push_back(r5);
  ep->close();
}

}  // namespace

TEST_CASE("a shell + curl runtime served by the endpoint") {
  char dir_tmpl[] = "/tmp/lambdad-endpoint-XXXXXX";
  std::string dir = ::mkdtemp(dir_tmpl);
  std::string script = dir + "/bootstrap";
  {
    std::ofstream f(script);
    f << kBootstrap;
  }
  ::chmod(script.c_str(), 0755);

  asio::io_context ioc;
  auto ep = std::make_shared<Endpoint>(ioc);
  auto addr = ep->listen();
  REQUIRE(addr.has_value());
  Results results;
  ep->on_first_next = [&] { results.first_next = true; };
  ep->start();

  sandbox::SpawnSpec spec;
  spec.path = script;
  spec.argv = {script};
  spec.env = {"AWS_LAMBDA_RUNTIME_API=" + *addr, "PATH=/usr/bin:/bin"};
  spec.cwd = dir;
  auto child = sandbox::spawn(spec);
  REQUIRE_MESSAGE(child.has_value(), (child ? "" : child.error().message()));

  asio::co_spawn(ioc, drive(ep, &results), asio::detached);
  ioc.run_for(std::chrono::seconds(20));

  (void)child->signal(SIGKILL);
  auto st = child->wait();
  REQUIRE(st.has_value());
  ::unlink(script.c_str());
  ::rmdir(dir.c_str());

  CHECK(results.first_next);
  REQUIRE(results.outcomes.size() == 5);
  CHECK(results.outcomes[0].kind == Outcome::Kind::Response);
  CHECK(results.outcomes[0].body == R"({"echo":{"n":1}})");
  CHECK(results.outcomes[1].body == R"({"echo":{"n":2}})");  // the same runtime, warm
  CHECK(results.outcomes[2].kind == Outcome::Kind::FunctionError);
  CHECK(results.outcomes[2].error_type == "Custom.Err");
  CHECK(results.outcomes[2].body == R"({"errorMessage":"boom","errorType":"Custom.Err"})");
  CHECK(results.outcomes[3].kind == Outcome::Kind::Response);
  CHECK(results.outcomes[3].body == R"({"status":400})");  // a wrong request id is refused
  CHECK(results.outcomes[4].kind == Outcome::Kind::TimedOut);
  REQUIRE(results.outcomes[4].dispatched_at.has_value());
  auto ran = results.outcomes[4].finished_at - *results.outcomes[4].dispatched_at;
  CHECK(ran >= std::chrono::milliseconds(300));  // the timeout counts from the runtime's /next
  CHECK(ran < std::chrono::seconds(5));
  REQUIRE(results.outcomes[0].dispatched_at.has_value());
  CHECK(results.outcomes[0].finished_at >= *results.outcomes[0].dispatched_at);
}
