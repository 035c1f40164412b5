#include "invoker.hpp"
#include "util/json_check.hpp"

#include "environment.hpp"
#include "shell_pool.hpp"
#include "logs/format.hpp"
#include "util/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <thread>

namespace lambdad::exec {

namespace asio = boost::asio;
using nlohmann::json;
using runtime_api::EnvEvent;
using runtime_api::EnvState;
using runtime_api::Outcome;
using ms = std::chrono::duration<double, std::milli>;

namespace {

std::string error_body(std::string const& type, std::string const& message) {
  return json{{"errorMessage", message}, {"errorType", type}}.dump();
}

std::string exit_reason(std::optional<sandbox::ExitStatus> const& st) {
  if (!st) return "Runtime exited without providing a reason";
  if (st->signaled) {
    // As Go (Lambda's init) names signals: strsignal's words in lower case.
    std::string name = ::strsignal(st->code);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return "Runtime exited with error: signal: " + name;
  }
  return "Runtime exited with error: exit status " + std::to_string(st->code);
}

std::string trace_id() {
  auto id = util::uuid4();
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(secs.count()));
  return "Root=1-" + std::string(hex) + "-" + id.substr(0, 24) + ";Parent=" + id.substr(24, 8) + "0000000" +
         id.substr(0, 1) + ";Sampled=0";
}

// The invocation's log as the console shows it (START, the runtime's
// output, END, REPORT, then what follows REPORT for a runtime that died),
// and the same lines of Lambda's own written to the environment's stream
// (the runtime's own lines are already there, written as they came).
// Environments are reused only for the same version of the same function
// at the same revision (a version's environment never runs another).
bool same_version(FunctionImage const& a, FunctionImage const& b) {
  return a.name == b.name && a.version == b.version && a.revision == b.revision;
}

// A platform line and its newline; nothing for a line the function's
// LoggingConfig leaves out ("").
std::string line_of(std::string line) { return line.empty() ? line : line + "\n"; }

// `before_end` (a timeout or INIT_REPORT line) and `after_report` (the
// runtime's exit) are already lines; END and REPORT are written in the
// function's log format, with `status` in JSON.
std::string finish_log(Environment& env, std::string const& id, std::string const& output, std::string const& before_end,
                       logs::ReportFigures const& figures, std::string const& after_report, logs::RunStatus const& status) {
  logs::Platform platform(env.image().log);
  std::string tail = before_end + line_of(platform.end(id, figures.duration_ms, status)) +
                     line_of(platform.report(id, figures, status)) + after_report;
  std::size_t from = 0;
  while (from < tail.size()) {
    auto nl = tail.find('\n', from);
    if (nl == std::string::npos) nl = tail.size();
    env.log_line(std::string_view(tail).substr(from, nl - from));
    from = nl + 1;
  }
  return line_of(platform.start(id, env.image().version)) + output + tail;
}

// platform.runtimeDone/report's status for an invocation the runtime
// answered: success, or error with the function's error type.
logs::RunStatus answered_status(Outcome const& out) {
  if (out.kind == Outcome::Kind::FunctionError) return {"error", out.error_type};
  if (out.kind == Outcome::Kind::TooLarge) return {"error", "Function.ResponseSizeTooLarge"};
  return {};
}

}  // namespace

Invoker::Invoker(asio::io_context& ioc, InvokerOptions opts, logs::LogStore* logs)
    : ioc_(ioc), opts_(opts), shells_(std::make_unique<ShellPool>(opts_.sandbox, opts_.sandbox.pool)), logs_(logs) {
  if (shells_->size() > 0) opts_.sandbox.shells = shells_.get();
}

Invoker::~Invoker() { shutdown(); }

std::shared_ptr<Environment> Invoker::take_idle(FunctionImage const& fn) {
  for (auto const& env : envs_)
    if (env->state() == EnvState::Idle && !env->claimed && !env->retired && same_version(env->image(), fn))
      return env;
  return nullptr;
}

asio::awaitable<void> Invoker::next_phase_end(std::chrono::steady_clock::time_point until) {
  asio::steady_timer timer(ioc_);
  timer.expires_at(until);
  phase_waiters_.push_back(&timer);
  [[maybe_unused]] auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(phase_waiters_, &timer);
}

asio::awaitable<void> Invoker::await_finishing(FunctionImage fn) {
  std::shared_ptr<Environment> finishing;
  for (auto const& env : envs_) {
    if (!same_version(env->image(), fn) || env->retired) continue;
    if (env->state() == EnvState::Idle && !env->claimed) co_return;  // one is idle already
    if (env->claimed && env->answered && (!finishing || env->startup_cost() > finishing->startup_cost()))
      finishing = env;
  }
  if (!finishing) co_return;
  auto until = std::chrono::steady_clock::now() + finishing->startup_cost();
  while (finishing->answered && std::chrono::steady_clock::now() < until) co_await next_phase_end(until);
}

asio::awaitable<void> Invoker::answered_recorded(std::string function, std::chrono::steady_clock::duration limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  auto ending = [&] {
    return std::any_of(envs_.begin(), envs_.end(), [&](auto const& env) {
      return env->answered && (function.empty() || env->image().name == function);
    });
  };
  while (ending() && std::chrono::steady_clock::now() < until) co_await next_phase_end(until);
}

void Invoker::drop_dead() {
  std::vector<std::shared_ptr<Environment>> dead;
  for (auto const& e : envs_)
    if (e->state() == EnvState::Dead && !e->claimed) dead.push_back(e);
  for (auto const& e : dead) {
    e->retired = true;
    release(e);
  }
}

bool Invoker::make_room() {
  if (opts_.max_environments <= 0) return true;
  // Every environment with live processes counts, a retired one still
  // running its last invocation included (those being ended do not).
  auto alive = [&] {
    return std::count_if(envs_.begin(), envs_.end(), [](auto const& e) { return e->state() != EnvState::Dead; });
  };
  while (alive() >= opts_.max_environments) {
    std::shared_ptr<Environment> oldest;
    for (auto const& e : envs_)
      if (e->state() == EnvState::Idle && !e->claimed && !e->retired && (!oldest || e->idle_since < oldest->idle_since))
        oldest = e;
    if (!oldest) return false;
    spdlog::debug("function {}: idle environment ended to make room (max_environments {})", oldest->image().name,
                  opts_.max_environments);
    oldest->retired = true;
    release(oldest);
  }
  return true;
}

void Invoker::release(std::shared_ptr<Environment> const& env) {
  env->claimed = false;
  if (stopping_) return;  // stop() ends every environment in envs_ its own way
  bool keep = env->state() == EnvState::Idle && !env->retired && opts_.keep_alive.count() > 0;
  if (keep) {
    env->freeze(true);  // nothing runs in an idle environment, as on Lambda
    env->idle_since = std::chrono::steady_clock::now();
    // One reaper for all idle environments: a coroutine per release parked
    // its frame and timer (~2 KB) for the whole keep-alive, every invoke.
    if (!reaper_) asio::co_spawn(ioc_, reap_idle(), asio::detached);
    return;
  }
  if (env->state() != EnvState::Dead) env->apply(EnvEvent::Retire);
  env->freeze(false);  // its extensions must run to get SHUTDOWN
  envs_.erase(std::remove(envs_.begin(), envs_.end(), env), envs_.end());
  std::erase_if(dying_, [](auto const& e) { return e->exit_status().has_value(); });
  if (opts_.sandbox.cgroups) opts_.sandbox.cgroups->sweep();
  if (env->exit_status()) return;
  dying_.push_back(env);
  // Extensions that asked for SHUTDOWN get it and up to 2 s before the kill.
  constexpr auto grace = std::chrono::milliseconds(2000);
  auto deadline = std::chrono::system_clock::now() + grace;
  auto deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
  if (env->endpoint().shutdown_extensions("spindown", deadline_ms) == 0) {
    env->kill();
    return;
  }
  auto shutdown = [](std::shared_ptr<Environment> env, std::chrono::milliseconds grace) -> asio::awaitable<void> {
    co_await env->endpoint().extensions_settled(grace);
    env->kill();
  };
  auto task = shutdown(env, grace);
  asio::co_spawn(ioc_, std::move(task), asio::detached);
}

asio::awaitable<void> Invoker::reap_idle() {
  asio::steady_timer timer(ioc_);
  reaper_ = &timer;
  while (!stopping_) {
    // Ends the environments idle for the keep-alive; waits for the next one due.
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> next;
    std::vector<std::shared_ptr<Environment>> due;
    for (auto const& env : envs_) {
      if (env->state() != EnvState::Idle || env->claimed || env->retired) continue;
      auto at = env->idle_since + opts_.keep_alive;
      if (at <= now) due.push_back(env);
      else if (!next || at < *next) next = at;
    }
    for (auto const& env : due) {
      spdlog::debug("function {}: idle environment ended after the keep-alive", env->image().name);
      env->retired = true;
      release(env);
    }
    if (!next) break;
    timer.expires_at(*next);
    [[maybe_unused]] auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  reaper_ = nullptr;
}

std::size_t Invoker::retire_all() {
  std::size_t n = envs_.size();
  std::set<std::string> names;
  for (auto const& env : envs_) names.insert(env->image().name);
  for (auto const& name : names) retire_function(name);
  return n;
}

void Invoker::retire_function(std::string const& name) {
  std::vector<std::shared_ptr<Environment>> idle;
  for (auto const& env : envs_) {
    if (env->image().name != name) continue;
    env->retired = true;
    if (env->state() == EnvState::Idle) idle.push_back(env);
  }
  for (auto const& env : idle) release(env);
}

std::map<std::string, int> Invoker::environments_by_state() const {
  std::map<std::string, int> out;
  for (auto const& env : envs_) {
    std::string name(runtime_api::to_string(env->state()));
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ++out[name];
  }
  return out;
}

void Invoker::shutdown() {
  auto running = [](auto const& list) {
    return std::count_if(list.begin(), list.end(), [](auto const& e) { return !e->exit_status().has_value(); });
  };
  if (auto n = running(envs_) + running(dying_); n > 0)
    spdlog::info("ending {} environment(s) and reaping their processes", n);
  for (auto const& env : envs_) env->reap_now();
  for (auto const& env : dying_) env->reap_now();
  envs_.clear();
  dying_.clear();
  // Every environment made from a shell is reaped: the pool's thread, their
  // parent, may end now, and the shells not taken with it.
  if (shells_) shells_->stop();
  // Their cgroups go once the kernel has let go of the processes.
  if (auto* cg = opts_.sandbox.cgroups) {
    for (int i = 0; i < 100 && cg->sweep() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (auto left = cg->sweep(); left > 0) spdlog::warn("{} environment cgroup(s) could not be removed", left);
  }
}

asio::awaitable<void> Invoker::stop(std::chrono::milliseconds drained_for, std::chrono::milliseconds grace) {
  stopping_ = true;
  if (reaper_) reaper_->cancel();
  asio::steady_timer timer(ioc_);
  auto pause = [&]() -> asio::awaitable<void> {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  if (total_in_flight_ > 0) {
    spdlog::warn("{} invocation(s) still running after {} ms: failing them (Sandbox.Stopped)", total_in_flight_,
                 drained_for.count());
    aborted_after_ = drained_for;
    for (auto const& env : envs_)
      if (env->claimed) env->kill();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (total_in_flight_ > 0 && std::chrono::steady_clock::now() < until) co_await pause();
  }
  // Every environment, as Lambda ends one: SHUTDOWN to the extensions that
  // asked for it, SIGTERM to the runtime, and SIGKILL once `grace` is over.
  auto deadline = std::chrono::system_clock::now() + grace;
  auto deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
  std::vector<std::shared_ptr<Environment>> ending;
  for (auto const& env : envs_) {
    env->retired = true;
    if (env->exit_status()) continue;
    env->freeze(false);
    if (env->state() != EnvState::Dead && env->state() != EnvState::Invoking) env->apply(EnvEvent::Retire);
    env->endpoint().shutdown_extensions("spindown", deadline_ms);
    env->terminate();
    ending.push_back(env);
  }
  for (auto const& env : dying_)
    if (!env->exit_status()) ending.push_back(env);
  if (!ending.empty())
    spdlog::info("ending {} environment(s): SHUTDOWN to their extensions, SIGTERM to their runtimes, SIGKILL after "
                 "{} ms", ending.size(), grace.count());
  auto until = std::chrono::steady_clock::now() + grace;
  auto alive = [&] {
    return std::count_if(ending.begin(), ending.end(), [](auto const& e) { return !e->exit_status().has_value(); });
  };
  while (alive() > 0 && std::chrono::steady_clock::now() < until) co_await pause();
  if (auto left = alive(); left > 0) {
    std::string names;
    for (auto const& env : ending)
      if (!env->exit_status()) names += (names.empty() ? "" : ", ") + env->image().name;
    spdlog::warn("{} environment(s) still running after the {} ms grace: SIGKILL (function {})", left, grace.count(),
                 names);
  }
  else if (!ending.empty())
    spdlog::info("every environment ended within the grace");
  shutdown();
}

asio::awaitable<void> PhaseEnd::wait() {
  while (!done) {
    signal.expires_at(std::chrono::steady_clock::time_point::max());
    [[maybe_unused]] auto [ec] = co_await signal.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void PhaseEnd::complete(InvokeResult whole) {
  result = std::move(whole);
  done = true;
  signal.cancel();
}

// Holds an invocation's place in the concurrency counts until its invoke
// phase is over (an environment busy after its answer is still in use).
struct Invoker::InFlight {
  Invoker* self;
  std::string name;
  InFlight(Invoker* s, std::string n) : self(s), name(std::move(n)) {
    ++self->in_flight_[name];
    ++self->total_in_flight_;
  }
  InFlight(InFlight const&) = delete;
  InFlight& operator=(InFlight const&) = delete;
  ~InFlight() {
    if (--self->in_flight_[name] == 0) self->in_flight_.erase(name);
    --self->total_in_flight_;
  }
};

bool Invoker::admit(FunctionImage const& fn, InvokeResult& result) const {
  if (stopping_) {
    result.refused = "lambdad is stopping: it takes no new invocation";
    result.outcome = "refused";
    return false;
  }
  // Concurrency as Lambda counts it: invocations in flight, per function
  // (reserved concurrency) and in all (the daemon's limit).
  auto counted = in_flight_.find(fn.name);
  int mine = counted == in_flight_.end() ? 0 : counted->second;
  if (fn.reserved_concurrency && mine >= *fn.reserved_concurrency)
    result.throttled = "ReservedFunctionConcurrentInvocationLimitExceeded";
  else if (total_in_flight_ >= opts_.max_concurrency)
    result.throttled = "ConcurrentInvocationLimitExceeded";
  if (result.throttled) result.outcome = "throttled";
  return !result.throttled;
}

std::shared_ptr<Environment> Invoker::acquire(FunctionImage const& fn, InvokeResult& result) {
  std::string const& id = result.request_id;
  drop_dead();  // environments whose processes ended while idle
  // An environment is idle only once its runtime waits in /next: it takes
  // the event at once.
  if (auto env = take_idle(fn)) {
    env->claimed = true;
    env->freeze(false);
    env->log_line(logs::Platform(fn.log).start(id, fn.version));
    env->apply(EnvEvent::Dispatch);
    return env;
  }
  result.cold = true;
  if (!make_room()) {
    result.throttled = "ConcurrentInvocationLimitExceeded";
    result.outcome = "throttled";
    return nullptr;
  }
  auto env = std::make_shared<Environment>(ioc_, fn, logs_, opts_.sandbox);
  env->claimed = true;
  // CloudWatch's order for a cold start: INIT_START, the init output, then
  // START when the invocation is handed over (Environment::on_first_next).
  logs::Platform platform(fn.log);
  env->log_line(platform.init_start(fn.runtime, fn.region));
  if (fn.managed && !fn.managed->note.empty()) env->log_line(fn.managed->note);
  env->pending_start = platform.start(id, fn.version);
  if (auto failure = env->start()) {
    env->log_pending_start();
    std::string message = "RequestId: " + id + " Error: " + failure->message;
    result.function_error = true;
    result.body = error_body(failure->error_type, message);
    result.outcome = "runtime_exit";
    result.figures = logs::ReportFigures{0.0, std::nullopt, fn.memory_mb, std::nullopt};
    result.log = finish_log(*env, id, "", "", result.figures, message + "\n" + failure->error_type + "\n",
                            {"error", failure->error_type});
    return nullptr;
  }
  envs_.push_back(env);
  return env;
}

void Invoker::answer(Outcome& out, FunctionImage const& fn, InvokeResult& result) {
  switch (out.kind) {
    case Outcome::Kind::Response:
      result.body = std::move(out.body);
      break;
    case Outcome::Kind::FunctionError:
      result.function_error = true;
      result.outcome = "function_error";
      result.body = std::move(out.body);
      break;
    case Outcome::Kind::TooLarge:
      result.function_error = true;
      result.outcome = "function_error";
      result.body = error_body("Function.ResponseSizeTooLarge",
                               "Response payload size (" + std::to_string(out.size) +
                                   " bytes) exceeded maximum allowed payload size (" +
                                   std::to_string(out.limit ? out.limit : runtime_api::kMaxResponseBytes) +
                                   " bytes).");
      break;
    default:
      spdlog::error("function {}: answer() called for an invocation without an answer", fn.name);
  }
}

logs::ReportFigures Invoker::figures_of(Environment& env, FunctionImage const& fn, Outcome const& out,
                                        std::chrono::steady_clock::time_point end, bool cold) const {
  logs::ReportFigures figures;
  figures.memory_size_mb = fn.memory_mb;
  figures.duration_ms = out.dispatched_at ? ms(end - *out.dispatched_at).count() : 0.0;
  if (cold && env.first_next_at()) figures.init_ms = ms(*env.first_next_at() - env.spawned_at()).count();
  figures.max_memory_bytes = env.peak_memory_bytes();
  return figures;
}

asio::awaitable<void> Invoker::end_phase(std::shared_ptr<Environment> env, FunctionImage fn, InvokeResult result,
                                         Outcome out, std::chrono::steady_clock::time_point began,
                                         std::shared_ptr<InFlight> counted) {
  std::string const& id = result.request_id;
  // Bounded by the function's Timeout, from the start of the invocation
  // (its dispatch: a cold start's init has its own limit).
  auto until = out.dispatched_at.value_or(began) + std::chrono::seconds(fn.timeout_s);
  using End = runtime_api::Endpoint::PhaseEnd;
  End how = co_await env->endpoint().invoke_phase_over(until);
  env->answered = false;
  // REPORT's Duration covers the whole invoke phase, the runtime's and the
  // extensions' work after the answer included ("Lambda Telemetry API":
  // platform.report's durationMs is the invoke phase; platform.runtimeDone's
  // is the runtime's part).
  auto end = std::chrono::steady_clock::now();
  auto figures = figures_of(*env, fn, out, end, result.cold);
  std::string before_end;
  logs::RunStatus status = answered_status(out);
  if (how == End::Next) {
    env->apply(EnvEvent::Respond);
  } else if (how == End::RuntimeBusy) {
    spdlog::warn("function {}: the runtime did not ask for its next event after invocation {} within the Timeout; "
                 "environment ended", fn.name, id);
    before_end = line_of(logs::Platform(fn.log).timeout(std::chrono::system_clock::now(), id, fn.timeout_s));
    status = {"timeout", "Sandbox.Timedout"};
    env->apply(EnvEvent::Timeout);
    env->kill();
  } else if (how == End::ExtensionsBusy) {
    spdlog::warn("function {}: extensions still busy after invocation {} at the Timeout; environment ended", fn.name,
                 id);
    env->apply(EnvEvent::Respond);
    env->retired = true;
  }
  // End::Closed: the runtime exited after answering; the environment is
  // Dead and leaves the pool below, and the next invocation starts cold.
  result.figures = figures;
  result.log = finish_log(*env, id, env->take_output(), before_end, figures, "", status);
  release(env);
  for (auto* waiter : phase_waiters_) waiter->cancel();  // idle now, or gone: an invoke waiting for it goes on
  counted.reset();
  // The whole result goes to the waiter without its own phase_end: a
  // PhaseEnd holding a pointer to itself would never be freed.
  auto phase = std::move(result.phase_end);
  finished(result);
  if (phase) phase->complete(std::move(result));
}

void Invoker::fail(Environment& env, std::shared_ptr<Environment> const& ref, FunctionImage const& fn,
                   Outcome const& out, bool cold, InvokeResult& result) {
  std::string const& id = result.request_id;
  env.log_pending_start();  // init never ended: START still goes before END
  auto figures = figures_of(env, fn, out, out.finished_at, cold);
  std::string before_end, after_report;
  logs::Platform platform(fn.log);
  logs::RunStatus status;
  result.function_error = true;
  if (out.kind == Outcome::Kind::TimedOut) {
    result.outcome = "timeout";
    std::string seconds = std::to_string(fn.timeout_s) + ".00";
    result.body = error_body("Sandbox.Timedout", "RequestId: " + id + " Error: Task timed out after " + seconds + " seconds");
    before_end = line_of(platform.timeout(std::chrono::system_clock::now(), id, fn.timeout_s));
    status = {"timeout", "Sandbox.Timedout"};
    env.apply(EnvEvent::Timeout);
    env.kill();
  } else if (aborted_after_) {
    // stop() ended it: say so, not what the kill looks like.
    std::string message = "RequestId: " + id + " Error: lambdad is stopping and the invocation did not finish " +
                          "within the drain time (" + std::to_string(aborted_after_->count()) + " ms)";
    result.body = error_body("Sandbox.Stopped", message);
    after_report = message + "\nSandbox.Stopped\n";
    status = {"failure", "Sandbox.Stopped"};
    result.outcome = "stopped";
    spdlog::warn("function {}: invocation {} failed: the daemon is stopping", fn.name, id);
  } else if (auto const& init = env.init_error(); init && cold) {
    // The runtime reported its init error on /init/error: the caller
    // gets the runtime's error object, the log an INIT_REPORT.
    auto type = init->type.empty() ? std::string("Runtime.Unknown") : init->type;
    result.outcome = "init_error";
    result.body = util::is_json(init->body) ? init->body : error_body(type, init->body);
    before_end = line_of(platform.init_report(ms(init->at - env.spawned_at()).count(), type));
    status = {"error", type};
    figures.duration_ms = ms(std::chrono::steady_clock::now() - env.spawned_at()).count();
  } else {
    // Killed by the OOM killer at the cgroup's limit: Lambda's OutOfMemory.
    bool oom = env.out_of_memory();
    std::string type = oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
    result.outcome = oom ? "out_of_memory" : "runtime_exit";
    std::string message = "RequestId: " + id + " Error: " + exit_reason(env.exit_status());
    result.body = error_body(type, message);
    after_report = message + "\n" + type + "\n";
    status = {"error", type};
    if (!figures.init_ms && cold) figures.duration_ms = ms(std::chrono::steady_clock::now() - env.spawned_at()).count();
  }
  result.figures = figures;
  result.log = finish_log(env, id, env.take_output(), before_end, figures, after_report, status);
  release(ref);
}

asio::awaitable<InvokeResult> Invoker::invoke(FunctionImage fn, InvokeRequest req) {
  InvokeResult result;
  result.function = fn.name;
  result.invocation_type = req.invocation_type;
  result.request_id = req.request_id.empty() ? util::uuid4() : req.request_id;
  result.started_at = std::chrono::system_clock::now();
  auto began = std::chrono::steady_clock::now();
  co_await await_finishing(fn);
  if (!admit(fn, result)) {
    finished(result);
    co_return result;
  }
  auto counted = std::make_shared<InFlight>(this, fn.name);
  auto env = acquire(fn, result);
  if (!env) {
    counted.reset();
    finished(result);
    co_return result;
  }
  runtime_api::Invocation inv;
  inv.request_id = result.request_id;
  inv.payload = std::move(req.payload);
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(fn.timeout_s);
  inv.deadline_epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
  inv.function_arn = fn.arn;
  inv.trace_id = trace_id();
  inv.client_context = std::move(req.client_context);
  // A cold environment takes the event at its first /next, within Lambda's
  // init limit; a warm one waits in /next already. Then the Timeout runs.
  auto timeout = std::chrono::seconds(fn.timeout_s);
  auto pickup = result.cold ? std::chrono::steady_clock::duration(opts_.init_limit) : timeout;
  Outcome out = co_await env->endpoint().invoke(std::move(inv), pickup, timeout, std::move(req.sink));
  result.streamed = out.streamed;
  bool answered = out.kind == Outcome::Kind::Response || out.kind == Outcome::Kind::FunctionError ||
                  out.kind == Outcome::Kind::TooLarge;
  if (!answered) {
    fail(*env, env, fn, out, result.cold, result);
    counted.reset();
    finished(result);
    co_return result;
  }
  // The caller has its answer now; the invoke phase ends when the runtime
  // is back in /next.
  answer(out, fn, result);
  env->answered = true;
  result.phase_end = std::make_shared<PhaseEnd>(ioc_.get_executor());
  InvokeResult kept = result;
  kept.body.clear();  // the finished result keeps no payload
  auto task = end_phase(env, fn, std::move(kept), std::move(out), began, std::move(counted));
  asio::co_spawn(ioc_, std::move(task), asio::detached);
  co_return result;
}

}  // namespace lambdad::exec
