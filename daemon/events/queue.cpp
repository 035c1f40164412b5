#include "queue.hpp"

#include "util/clock.hpp"
#include "util/offload.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

namespace lambdad::events {

namespace asio = boost::asio;
using nlohmann::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// "2019-11-24T21:52:47.333Z", as destination records carry it.
std::string iso_ms(std::int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// A throttled event waits for one of its function's invocations to end, or
// at most 1 s, 2 s, 4 s ... 60 s, as Lambda keeps it queued.
std::chrono::seconds throttle_wait(int throttles) { return std::chrono::seconds(std::min(60, 1 << std::min(throttles - 1, 6))); }

}  // namespace

std::string destination_record(QueuedEvent const& e, std::string const& function_arn, std::string const& condition,
                               exec::InvokeResult const* last, std::string const& executed_version) {
  json request_payload = json::parse(e.payload, nullptr, false);
  if (request_payload.is_discarded()) request_payload = e.payload;
  json rec{{"version", "1.0"},
           {"timestamp", iso_ms(now_ms())},
           {"requestContext",
            {{"requestId", e.request_id},
             {"functionArn", function_arn},
             {"condition", condition},
             {"approximateInvokeCount", e.attempts}}},
           {"requestPayload", std::move(request_payload)}};
  if (last) {
    json ctx{{"statusCode", 200}, {"executedVersion", executed_version}};
    if (last->function_error) ctx["functionError"] = "Unhandled";
    rec["responseContext"] = std::move(ctx);
    json body = json::parse(last->body, nullptr, false);
    rec["responsePayload"] = body.is_discarded() ? json(last->body) : std::move(body);
  }
  // A runtime may answer bytes that are not UTF-8: replaced, never a throw.
  return rec.dump(-1, ' ', false, json::error_handler_t::replace);
}

Queue::Queue(asio::io_context& ioc, asio::thread_pool& pool, QueueStore store, exec::Invoker& invoker, Hooks hooks)
    : ioc_(ioc), pool_(pool), store_(std::move(store)), invoker_(invoker), hooks_(std::move(hooks)) {}

Queue::~Queue() = default;

Result<std::size_t> Queue::start(std::vector<std::string>& notes) {
  auto loaded = store_.load(notes);
  if (!loaded) return loaded.error();
  for (auto& e : *loaded) schedule(std::move(e));
  return loaded->size();
}

void Queue::schedule(QueuedEvent e) {
  std::string id = e.request_id;
  if (events_.count(id)) {
    spdlog::error("event queue: {} is queued already; not scheduled twice", id);
    return;
  }
  Entry entry;
  entry.event = std::move(e);
  entry.timer = std::make_unique<asio::steady_timer>(ioc_);
  events_.insert_or_assign(id, std::move(entry));
  asio::co_spawn(ioc_, run(std::move(id)), asio::detached);
}

asio::awaitable<Result<void>> Queue::save(QueuedEvent e) {
  auto* store = &store_;
  auto write = [store, e = std::move(e)]() -> std::optional<Error> {
    auto r = store->put(e);
    if (!r) return r.error();
    return std::nullopt;
  };
  auto ok = co_await util::offload(pool_.get_executor(), std::move(write));
  if (ok) co_return *ok;
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Queue::accept(QueuedEvent e) {
  // While the daemon stops (a request still draining, a destination of an
  // event that just ended) the event is written and runs after the restart.
  auto saved = co_await save(e);
  if (!saved) co_return saved;
  if (!stopped_) schedule(std::move(e));
  co_return saved;
}

asio::awaitable<void> Queue::forget(std::string id) {
  auto* store = &store_;
  auto remove = [store, id]() -> std::optional<Error> {
    auto r = store->remove(id);
    if (!r) return r.error();
    return std::nullopt;
  };
  auto err = co_await util::offload(pool_.get_executor(), std::move(remove));
  if (err) spdlog::error("event queue: {} stays on disk (it will run again after a restart): {}", id, err->message());
  events_.erase(id);
}

asio::awaitable<bool> Queue::sleep(std::string const& id, std::int64_t until_ms) {
  auto it = events_.find(id);
  if (it == events_.end() || stopped_) co_return false;
  auto& timer = *it->second.timer;
  timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, until_ms - now_ms())));
  [[maybe_unused]] auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !stopped_ && events_.count(id);
}

void Queue::finished(std::string const& function) {
  // The first waiting for this function's room, else the first waiting for
  // the daemon's; each removes itself from the list once awake.
  for (std::string const& key : {function, std::string()}) {
    auto w = waiting_.find(key);
    if (w == waiting_.end()) continue;
    for (auto const& id : w->second) {
      auto it = events_.find(id);
      if (it != events_.end() && it->second.throttled && !it->second.woken) {
        it->second.woken = true;
        it->second.timer->cancel();
        return;
      }
    }
  }
}

asio::awaitable<bool> Queue::wait_for_room(std::string const& id, int& throttles, std::string const& reason) {
  auto& entry = events_.at(id);
  auto wait = throttle_wait(++throttles);
  spdlog::info("function {}: event invocation throttled ({}); trying again in {} s, or once one of its "
               "invocations ends", entry.event.function, reason, wait.count());
  entry.throttled = true;
  // Throttled by its reserved concurrency, it waits for an invocation of its
  // own to end; by the daemon's limit, for any invocation ("").
  std::string key = reason == "ReservedFunctionConcurrentInvocationLimitExceeded" ? entry.event.function : "";
  waiting_[key].push_back(id);
  bool alive = co_await sleep(id, now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
  if (auto it = events_.find(id); it != events_.end()) it->second.throttled = it->second.woken = false;
  if (auto w = waiting_.find(key); w != waiting_.end()) {  // woken or not, it waits there no more
    std::erase(w->second, id);
    if (w->second.empty()) waiting_.erase(w);
  }
  co_return alive;
}

asio::awaitable<void> Queue::run(std::string id) {
  try {
    co_await attempts(id);
  } catch (std::exception const& e) {
    // Never silent: the event stays on disk and runs again after a restart.
    spdlog::error("event queue: {}: {}; it stays queued until the next start", id, e.what());
  }
}

asio::awaitable<void> Queue::attempts(std::string id) {
  int throttles = 0;
  for (;;) {
    auto it = events_.find(id);
    if (it == events_.end() || stopped_) co_return;
    if (it->second.event.due_ms > now_ms() && !co_await sleep(id, it->second.event.due_ms)) co_return;
    QueuedEvent e = events_.at(id).event;
    auto resolved = hooks_.resolve(e);
    if (auto* why = std::get_if<std::string>(&resolved)) {
      spdlog::warn("function {}: event invocation {} dropped: {}", e.function, id, *why);
      co_await forget(id);
      co_return;
    }
    auto r = std::get<Resolved>(std::move(resolved));
    if (now_ms() - e.accepted_ms >= std::int64_t{r.policy.max_age_s} * 1000) {
      co_await finish(e, r, "EventAgeExceeded", nullptr);
      co_return;
    }
    exec::InvokeRequest req;
    req.payload = e.payload;
    req.client_context = e.client_context;
    req.invocation_type = "Event";
    req.request_id = e.request_id;
    events_.at(id).running = true;
    auto result = co_await invoker_.invoke(r.fn, req);
    if (auto again = events_.find(id); again != events_.end()) again->second.running = false;
    if (result.refused || result.outcome == "stopped") co_return;  // the daemon stops: it runs after a restart
    if (result.throttled) {
      if (!co_await wait_for_room(id, throttles, *result.throttled)) co_return;
      continue;
    }
    if (!co_await settle(id, r, result)) co_return;
    throttles = 0;
  }
}

asio::awaitable<bool> Queue::settle(std::string id, Resolved const& r, exec::InvokeResult const& result) {
  QueuedEvent e = events_.at(id).event;
  e.attempts += 1;
  bool failed = result.function_error;
  spdlog::info("function {}: event invocation {} (attempt {}) {}", e.function, id, e.attempts,
               failed ? "failed" : "succeeded");
  if (!failed || e.attempts > r.policy.max_retries) {
    co_await finish(e, r, failed ? "RetriesExhausted" : "Success", &result);
    co_return false;
  }
  // The next attempt's time; one that would come after the event's maximum
  // age will never run: the event is discarded now, as it would be then.
  e.due_ms = now_ms() + retry_delay_.count() * e.attempts;
  if (e.due_ms - e.accepted_ms >= std::int64_t{r.policy.max_age_s} * 1000) {
    co_await finish(e, r, "EventAgeExceeded", &result);
    co_return false;
  }
  spdlog::info("function {}: event invocation {} failed; attempt {} in {} ms", e.function, id, e.attempts + 1,
               e.due_ms - now_ms());
  // On disk first: what GET /_lambdad/events shows is what a restart finds.
  if (auto saved = co_await save(e); !saved)
    spdlog::error("event queue: {}: the attempt count could not be written: {}", id, saved.error().message());
  events_.at(id).event = e;
  co_return true;
}

asio::awaitable<void> Queue::finish(QueuedEvent e, Resolved const& r, std::string condition,
                                    exec::InvokeResult const* last) {
  std::string id = e.request_id;
  std::string const& destination = condition == "Success" ? r.policy.on_success : r.policy.on_failure;
  if (condition != "Success")
    spdlog::warn("function {}: event invocation {} discarded ({}, {} attempt(s))", e.function, id, condition,
                 e.attempts);
  std::string arn = e.qualifier.empty() ? r.fn.arn + ":$LATEST" : r.fn.arn;
  if (!destination.empty())
    co_await deliver(destination, destination_record(e, arn, condition, last, r.fn.version), condition == "Success",
                     arn, id);
  if (condition != "Success" && !r.policy.dead_letter.empty()) co_await dead_letter(e, r.policy.dead_letter, condition, last);
  co_await forget(id);
}

asio::awaitable<void> Queue::deliver(std::string destination, std::string record, bool success,
                                     std::string function_arn, std::string const& about) {
  if (auto fn = hooks_.lambda_destination ? hooks_.lambda_destination(destination) : std::nullopt) {
    QueuedEvent next;
    next.request_id = util::uuid4();
    next.function = fn->function;
    next.qualifier = fn->qualifier;
    next.payload = std::move(record);
    next.accepted_ms = next.due_ms = now_ms();
    std::string next_id = next.request_id;
    auto queued = co_await accept(std::move(next));
    if (!queued)
      spdlog::error("event invocation {}: its destination {} was not invoked: {}", about, destination,
                    queued.error().message());
    else
      spdlog::info("event invocation {}: destination {} invoked ({})", about, destination, next_id);
    co_return;
  }
  auto req = destination_request(destination, record, success, function_arn, delivery_);
  std::optional<std::string> failed = "not a destination lambdad can deliver to";
  if (req) failed = co_await send(std::move(*req), delivery_);
  if (failed) spdlog::error("event invocation {}: its destination {} was not delivered: {}", about, destination, *failed);
  else spdlog::info("event invocation {}: record delivered to {}", about, destination);
}

asio::awaitable<void> Queue::dead_letter(QueuedEvent const& e, std::string target, std::string condition,
                                         exec::InvokeResult const* last) {
  std::string message = condition;
  if (last) {
    auto body = json::parse(last->body, nullptr, false);
    if (body.is_object() && body.contains("errorMessage") && body["errorMessage"].is_string())
      message = body["errorMessage"].get<std::string>();
  }
  if (message.size() > 1024) message.resize(1024);  // AWS sends the first 1 KB
  auto req = dead_letter_request(target, e.payload, e.request_id, message, delivery_);
  std::optional<std::string> failed = "not a dead-letter target lambdad can deliver to";
  if (req) failed = co_await send(std::move(*req), delivery_);
  if (failed) spdlog::error("event invocation {}: its dead-letter target {} was not sent it: {}", e.request_id, target, *failed);
  else spdlog::info("event invocation {}: sent to its dead-letter target {}", e.request_id, target);
}

void Queue::stop() {
  stopped_ = true;
  for (auto& [id, entry] : events_) entry.timer->cancel();
}

std::vector<Status> Queue::list(std::string const& function) const {
  std::vector<Status> out;
  for (auto const& [id, entry] : events_)
    if (function.empty() || entry.event.function == function)
      out.push_back(Status{entry.event, entry.running, entry.throttled});
  std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.event.accepted_ms < b.event.accepted_ms; });
  return out;
}

std::map<std::string, Depth> Queue::depths() const {
  std::map<std::string, Depth> out;
  for (auto const& [id, entry] : events_) {
    auto& d = out[entry.event.function];
    (entry.running ? d.running : d.queued) += 1;
    if (d.oldest_accepted_ms == 0 || entry.event.accepted_ms < d.oldest_accepted_ms)
      d.oldest_accepted_ms = entry.event.accepted_ms;
  }
  return out;
}

}  // namespace lambdad::events
