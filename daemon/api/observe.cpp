// What the daemon shows about itself: GET /metrics (Prometheus text format),
// GET /_lambdad/invocations (the recent invocations, for test suites) and
// POST /_lambdad/reset. On the io_context thread, like the registry.
#include "control_plane.hpp"

#include "util/clock.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kHistoryPerFunction = 100;
// How long the history and /metrics wait for invocations still ending.
constexpr auto kRecordWait = std::chrono::seconds(10);

// Seconds; Lambda durations run from a millisecond to 15 minutes.
std::vector<double> const& duration_bounds() {
  static std::vector<double> const b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,      2.5,   5,    10,    30,   60,  300, 900};
  return b;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

class Exposition {
 public:
  void family(char const* name, char const* type, char const* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(std::string const& name, std::string const& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + number(value) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(char const* key, std::string const& value) {
  std::string out = std::string(key) + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

ControlPlane::Histogram::Histogram() : bounds(duration_bounds()), counts(bounds.size(), 0) {}

void ControlPlane::Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) ++counts[i];
  sum += seconds;
  ++count;
}

void ControlPlane::record(exec::InvokeResult const& r) {
  auto const& function = r.function;
  if (queue_ && !r.throttled) queue_->finished(function);
  auto const& type = r.invocation_type;
  if (!functions_.contains(function)) return;  // deleted while it ran: its series are gone
  auto& m = metrics_[function];
  if (r.throttled) ++m.throttles[*r.throttled];
  ++m.outcomes[r.outcome];
  if (r.throttled || r.refused) return;  // it never ran
  if (r.cold) ++m.cold_starts;
  m.duration.observe(r.figures.duration_ms / 1000.0);
  if (r.figures.init_ms) m.init.observe(*r.figures.init_ms / 1000.0);
  auto& h = history_[function];
  h.push_back({r.request_id, type, r.outcome, r.function_error, r.cold, r.started_at, r.figures, r.log});
  while (h.size() > kHistoryPerFunction) h.pop_front();
}

asio::awaitable<Response> ControlPlane::metrics(Call call) {
  std::string all;
  if (invoker_) co_await invoker_->answered_recorded(all, kRecordWait);
  Exposition e;
  e.family("lambdad_invocations_total", "counter",
           "Invocations by function and outcome (success, function_error, timeout, runtime_exit, out_of_memory, "
           "init_error, stopped, throttled, refused).");
  for (auto const& [fn, m] : metrics_)
    for (auto const& [outcome, n] : m.outcomes)
      e.sample("lambdad_invocations_total", label("function", fn) + "," + label("outcome", outcome),
               static_cast<double>(n));
  e.family("lambdad_throttles_total", "counter", "Invocations refused with 429, by function and reason.");
  for (auto const& [fn, m] : metrics_)
    for (auto const& [reason, n] : m.throttles)
      e.sample("lambdad_throttles_total", label("function", fn) + "," + label("reason", reason),
               static_cast<double>(n));
  e.family("lambdad_cold_starts_total", "counter", "Invocations that started an environment.");
  for (auto const& [fn, m] : metrics_)
    e.sample("lambdad_cold_starts_total", label("function", fn), static_cast<double>(m.cold_starts));
  auto histogram = [&](char const* name, char const* help, Histogram ControlPlane::FunctionMetrics::*which) {
    e.family(name, "histogram", help);
    for (auto const& [fn, m] : metrics_) {
      auto const& hist = m.*which;
      auto fl = label("function", fn);
      for (std::size_t i = 0; i < hist.bounds.size(); ++i)
        e.sample(std::string(name) + "_bucket", fl + "," + label("le", number(hist.bounds[i])),
                 static_cast<double>(hist.counts[i]));
      e.sample(std::string(name) + "_bucket", fl + ",le=\"+Inf\"", static_cast<double>(hist.count));
      e.sample(std::string(name) + "_sum", fl, hist.sum);
      e.sample(std::string(name) + "_count", fl, static_cast<double>(hist.count));
    }
  };
  histogram("lambdad_invocation_duration_seconds", "REPORT's Duration: from the event's dispatch to the answer.",
            &FunctionMetrics::duration);
  histogram("lambdad_init_duration_seconds", "REPORT's Init Duration of cold starts.", &FunctionMetrics::init);
  e.family("lambdad_environments", "gauge", "Execution environments by state.");
  std::map<std::string, int> states = {{"initializing", 0}, {"idle", 0}, {"invoking", 0}};
  if (invoker_)
    for (auto const& [state, n] : invoker_->environments_by_state()) states[state] = n;
  for (auto const& [state, n] : states) e.sample("lambdad_environments", label("state", state), n);
  e.family("lambdad_invocations_in_flight", "gauge", "Invocations running now.");
  e.sample("lambdad_invocations_in_flight", "", invoker_ ? invoker_->in_flight() : 0);
  // The asynchronous queue: events waiting (for their time or for room) and
  // running, by function, and how long the oldest has been queued.
  e.family("lambdad_event_queue_depth", "gauge", "Event invocations in the queue, by function and state.");
  e.family("lambdad_event_queue_oldest_age_seconds", "gauge", "Age of the oldest queued Event invocation, by function.");
  if (queue_) {
    auto now = events::now_ms();
    for (auto const& [fn, d] : queue_->depths()) {
      e.sample("lambdad_event_queue_depth", label("function", fn) + "," + label("state", "queued"),
               static_cast<double>(d.queued));
      e.sample("lambdad_event_queue_depth", label("function", fn) + "," + label("state", "running"),
               static_cast<double>(d.running));
      e.sample("lambdad_event_queue_oldest_age_seconds", label("function", fn),
               static_cast<double>(now - d.oldest_accepted_ms) / 1000.0);
    }
  }
  e.family("lambdad_functions", "gauge", "Functions deployed.");
  e.sample("lambdad_functions", "", static_cast<double>(functions_.size()));
  e.family("lambdad_layer_versions", "gauge", "Layer versions published.");
  e.sample("lambdad_layer_versions", "", static_cast<double>(layer_version_count()));
  // Bytes stored, as the records declare them (a zip shared by two records
  // is stored once and counted twice).
  double function_zips = 0, layer_zips = 0, unzipped = 0;
  for (auto const& [name, state] : functions_.all()) {
    function_zips += static_cast<double>(state.latest.code_size);
    unzipped += static_cast<double>(state.latest.unzipped_size);
    for (auto const& [n, v] : state.versions) {
      function_zips += static_cast<double>(v.code_size);
      unzipped += static_cast<double>(v.unzipped_size);
    }
  }
  for (auto const& [name, versions] : layers_)
    for (auto const& [v, rec] : versions) {
      layer_zips += static_cast<double>(rec.code_size);
      unzipped += static_cast<double>(rec.unzipped_size);
    }
  e.family("lambdad_stored_bytes", "gauge", "Code stored, by kind: function and layer zips, and their unzipped trees.");
  e.sample("lambdad_stored_bytes", label("kind", "function_zips"), function_zips);
  e.sample("lambdad_stored_bytes", label("kind", "layer_zips"), layer_zips);
  e.sample("lambdad_stored_bytes", label("kind", "unzipped"), unzipped);

  Response res{bhttp::status::ok, call.req.version()};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = e.take();
  co_return res;
}

asio::awaitable<Response> ControlPlane::invocations(Call call) {
  auto want = call.query.find("function");
  // An invocation is recorded when its invoke phase ends, a moment after its
  // answer: the history (and /metrics) wait for the ones that answered (at
  // most kRecordWait), so a test suite that invokes and then asks sees what
  // it just ran.
  std::string function;
  if (want != call.query.end()) function = want->second;
  if (invoker_) co_await invoker_->answered_recorded(function, kRecordWait);
  json list = json::array();
  auto add = [&](std::string const& fn, std::deque<InvocationRecord> const& records) {
    for (auto const& r : records) {
      json item = {{"requestId", r.request_id},
                   {"functionName", fn},
                   {"invocationType", r.type},
                   {"status", r.outcome},
                   {"functionError", r.function_error},
                   {"coldStart", r.cold},
                   {"startTime", util::aws_timestamp(r.started_at)},
                   {"durationMs", r.figures.duration_ms},
                   {"billedDurationMs", logs::billed_duration_ms(r.figures)},
                   {"memorySizeMB", r.figures.memory_size_mb},
                   {"log", r.log}};
      item["initDurationMs"] = r.figures.init_ms ? json(*r.figures.init_ms) : json(nullptr);
      item["maxMemoryUsedMB"] =
          r.figures.max_memory_bytes ? json(logs::megabytes(*r.figures.max_memory_bytes)) : json(nullptr);
      list.push_back(std::move(item));
    }
  };
  if (want != call.query.end()) {
    auto found = history_.find(want->second);
    if (found != history_.end()) add(found->first, found->second);
    else if (!functions_.contains(want->second))
      co_return error_response(call, model::not_found("Function not found: " +
                                                   model::function_arn(cfg_.identity, want->second)));
  } else {
    for (auto const& [fn, records] : history_) add(fn, records);
    std::stable_sort(list.begin(), list.end(),
                     [](json const& a, json const& b) { return a["startTime"] < b["startTime"]; });
  }
  co_return json_response(call, 200, json{{"Invocations", list}});
}

asio::awaitable<Response> ControlPlane::list_events(Call call) {
  std::string function;
  if (auto want = call.query.find("function"); want != call.query.end()) {
    function = want->second;
    if (!functions_.contains(function))
      co_return error_response(call, model::not_found("Function not found: " + model::function_arn(cfg_.identity, function)));
  }
  json list = json::array();
  auto now = events::now_ms();
  for (auto const& s : queue_ ? queue_->list(function) : std::vector<events::Status>{}) {
    auto const& ev = s.event;
    list.push_back(json{{"requestId", ev.request_id},
                        {"functionName", ev.function},
                        {"qualifier", ev.qualifier},
                        {"state", s.running ? "running" : s.throttled ? "throttled" : "queued"},
                        {"attempts", ev.attempts},
                        {"ageSeconds", static_cast<double>(now - ev.accepted_ms) / 1000.0},
                        {"dueInSeconds", static_cast<double>(std::max<std::int64_t>(0, ev.due_ms - now)) / 1000.0}});
  }
  co_return json_response(call, 200, json{{"Events", list}});
}

asio::awaitable<Response> ControlPlane::reset(Call call) {
  // Every environment ends (the next invokes start cold) and the history is
  // cleared; with functions=true every function is deleted too.
  std::size_t ended = invoker_ ? invoker_->retire_all() : 0;
  history_.clear();
  std::size_t deleted = 0;
  json kept = json::array();  // being updated meanwhile, or failed to delete: named, not fatal
  if (call.query.count("functions") && call.query["functions"] == "true") {
    std::vector<std::string> names;
    for (auto const& [name, f] : functions_.all()) names.push_back(name);
    for (auto const& name : names) {
      if (!functions_.contains(name)) continue;
      if (auto err = co_await remove_function(name)) {
        kept.push_back(json{{"functionName", name}, {"reason", err->message}});
        continue;
      }
      ++deleted;
    }
  }
  spdlog::info("reset: {} environment(s) ended, {} function(s) deleted, {} kept", ended, deleted, kept.size());
  co_return json_response(call, 200,
                          json{{"environmentsEnded", ended}, {"functionsDeleted", deleted}, {"functionsKept", kept}});
}

}  // namespace lambdad::api
