#include "platform.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>

namespace lambdad::logs {

namespace {

using ordered = nlohmann::ordered_json;

// Milliseconds as AWS's records give them: three decimals.
double ms3(double ms) { return std::round(ms * 1000.0) / 1000.0; }

std::string record(std::string_view type, ordered rec) {
  ordered j;
  j["time"] = iso_time(std::chrono::system_clock::now());
  j["type"] = std::string(type);
  j["record"] = std::move(rec);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ordered with_status(ordered rec, RunStatus const& s) {
  rec["status"] = s.status;
  if (!s.error_type.empty()) rec["errorType"] = s.error_type;
  return rec;
}

int level_rank(std::string_view level) {
  static constexpr std::array<std::string_view, 6> names = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  std::string up(level);
  for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (up == "WARNING") up = "WARN";
  if (up == "CRITICAL") up = "FATAL";
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == up) return static_cast<int>(i);
  return -1;
}

}  // namespace

std::string Platform::init_start(std::string_view runtime, std::string_view region) const {
  if (!c_.json) return init_start_line(runtime, region);
  if (!writes(SystemLevel::Info)) return "";
  auto version = runtime_version(runtime);
  return record("platform.initStart", ordered{{"initializationType", "on-demand"},
                                              {"phase", "init"},
                                              {"runtimeVersion", version},
                                              {"runtimeVersionArn", runtime_version_arn(version, region)}});
}

std::string Platform::start(std::string_view request_id, std::string_view version) const {
  if (!c_.json) return start_line(request_id, version);
  if (!writes(SystemLevel::Info)) return "";
  return record("platform.start", ordered{{"requestId", request_id}, {"version", version}});
}

std::string Platform::end(std::string_view request_id, double runtime_ms, RunStatus const& s) const {
  if (!c_.json) return end_line(request_id);
  if (!writes(SystemLevel::Debug)) return "";
  ordered rec{{"requestId", request_id}};
  rec = with_status(std::move(rec), s);
  rec["metrics"] = ordered{{"durationMs", ms3(runtime_ms)}};
  return record("platform.runtimeDone", std::move(rec));
}

std::string Platform::report(std::string_view request_id, ReportFigures const& f, RunStatus const& s) const {
  if (!c_.json) return report_line(request_id, f);
  if (!writes(s.status == "success" ? SystemLevel::Info : SystemLevel::Warn)) return "";
  ordered metrics{{"durationMs", ms3(f.duration_ms)},
                  {"billedDurationMs", billed_duration_ms(f)},
                  {"memorySizeMB", f.memory_size_mb}};
  // Left out where peak memory could not be measured: never invented.
  if (f.max_memory_bytes) metrics["maxMemoryUsedMB"] = megabytes(*f.max_memory_bytes);
  if (f.init_ms) metrics["initDurationMs"] = ms3(*f.init_ms);
  ordered rec{{"requestId", request_id}, {"metrics", std::move(metrics)}};
  return record("platform.report", with_status(std::move(rec), s));
}

std::string Platform::timeout(std::chrono::system_clock::time_point at, std::string_view request_id,
                              double timeout_seconds) const {
  return c_.json ? "" : timeout_line(at, request_id, timeout_seconds);
}

std::string Platform::init_report(double init_ms, std::string_view error_type) const {
  if (!c_.json) return init_report_line(init_ms, error_type);
  if (!writes(SystemLevel::Warn)) return "";
  ordered rec{{"initializationType", "on-demand"}, {"phase", "init"}};
  rec = with_status(std::move(rec), RunStatus{"error", std::string(error_type)});
  rec["metrics"] = ordered{{"durationMs", ms3(init_ms)}};
  return record("platform.initReport", std::move(rec));
}

bool Platform::keeps(std::string_view line) const {
  if (!c_.json || c_.application_level.empty() || line.empty() || line.front() != '{') return true;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return true;
  int rank = 2;  // INFO: a missing or unknown level
  // "level" (AWS's JSON records); Python's client writes an unhandled
  // error's record with "log_level".
  for (char const* key : {"level", "log_level"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) continue;
    int r = level_rank(it->get<std::string>());
    if (r >= 0) rank = r;
    break;
  }
  return rank >= level_rank(c_.application_level);
}

}  // namespace lambdad::logs
