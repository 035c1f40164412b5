// A function's log group over HTTP: GET /_lambdad/logs/{name} answers the
// events on disk as text, one per line as `aws logs tail` prints them;
// with ?follow=true the answer goes on (chunked), a chunk per batch of new
// lines as the function writes them, until the client hangs up or the
// daemon stops. On the io_context thread.
#include "control_plane.hpp"
#include "util/use_tuple.hpp"

#include "util/offload.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using util::use_tuple;

namespace {

std::string text_of(std::vector<logs::LogEvent> const& events) {
  std::string out;
  for (auto const& e : events) out += logs::format_event(e) + "\n";
  return out;
}

}  // namespace

// The store key of the log group /_lambdad/logs/NAME reads: the group the
// function NAME logs to (LoggingConfig.LogGroup, else its own), or NAME's
// default group if there is no such function (any more).
std::string ControlPlane::log_key(std::string const& name) const {
  auto const* state = functions_.find(name);
  return state ? logs::group_key(model::log_group_of(name, state->latest.logging)) : name;
}

asio::awaitable<Response> ControlPlane::get_logs(Call call) {
  std::string name = call.param("name");
  std::string key = log_key(name);
  if (!logs_ || (!logs_->group_exists(key) && !functions_.contains(name)))
    co_return error_response(call, model::not_found("The specified log group does not exist: /aws/lambda/" + name));
  if (auto f = call.query.find("follow"); f != call.query.end() && (f->second == "true" || f->second == "1"))
    co_return co_await follow_logs(std::move(call), std::move(key));
  // Reading and formatting a large group takes milliseconds: on the pool.
  // read_group only reads files, which the io thread only appends to;
  // lines still pending in this io turn are written first.
  logs_->flush();
  auto job = [logs = logs_, key] { return text_of(logs->read_group(key)); };
  auto text = co_await util::offload(pool_.get_executor(), std::move(job));
  Response res{bhttp::status::ok, call.req.version()};
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.set("x-amzn-RequestId", call.request_id);
  res.body() = std::move(text);
  co_return res;
}

void ControlPlane::stop_streams() {
  streams_stopped_ = true;
  if (logs_) logs_->wake_all();
}

// ?follow=true: the backlog, then each batch of new lines as a chunk, until
// the client hangs up or the daemon stops (then the connection closes).
asio::awaitable<Response> ControlPlane::follow_logs(Call call, std::string name) {
  http::StreamOut& out = *call.out;
  // Shared with the watcher below, which may finish after this coroutine.
  struct State {
    explicit State(asio::any_io_executor ex) : wake(std::move(ex)) {}
    asio::steady_timer wake;
    bool gone = false;
  };
  auto st = std::make_shared<State>(co_await asio::this_coro::executor);
  bhttp::response_header<> head;
  head.result(bhttp::status::ok);
  head.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("x-amzn-RequestId", call.request_id);
  head.set(bhttp::field::connection, "close");
  // Subscribed first: the store keeps a group's lines in memory only while
  // it is followed. Everything up to `seen` comes from disk (pending lines
  // written first); newer lines (those written while the backlog is sent
  // too) from memory.
  int sub = logs_->subscribe(name, [st] { st->wake.cancel(); });
  struct Unsubscribe {
    logs::LogStore* logs;
    int id;
    ~Unsubscribe() { logs->unsubscribe(id); }
  } unsubscribe{logs_, sub};
  std::uint64_t seen = logs_->last_seq(name);
  logs_->flush();
  std::string backlog = text_of(logs_->read_group(name));
  if (!co_await out.start(std::move(head)) || !co_await out.write(backlog)) co_return Response{};
  // The client hanging up shows as the end of its (empty) request stream.
  auto watch = [](std::shared_ptr<State> st, boost::beast::tcp_stream& s) -> asio::awaitable<void> {
    char byte;
    [[maybe_unused]] auto [ec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), use_tuple);
    st->gone = true;
    st->wake.cancel();
  };
  auto watcher = watch(st, out.stream());
  asio::co_spawn(co_await asio::this_coro::executor, std::move(watcher), asio::detached);
  spdlog::debug("function {}: log follow started", name);
  while (!st->gone && !streams_stopped_) {
    bool lost = false;
    auto events = logs_->since(name, seen, lost);
    if (!events.empty()) seen = events.back().seq;
    std::string text = lost ? "[lambdad: some lines were dropped: this follower fell behind]\n" : "";
    text += text_of(events);
    if (!co_await out.write(text)) break;
    if (!events.empty()) continue;
    st->wake.expires_at(std::chrono::steady_clock::time_point::max());
    [[maybe_unused]] auto [ec] = co_await st->wake.async_wait(use_tuple);
  }
  if (!st->gone) co_await out.finish();
  spdlog::debug("function {}: log follow ended", name);
  co_return Response{};
}

}  // namespace lambdad::api
