// Lambda's platform lines (its "system logs") for one function, in the
// function's LoggingConfig: the Text lines of format.hpp, or in JSON format
// the records AWS writes instead ({"time", "type": "platform.<event>",
// "record"}), filtered by SystemLogLevel. Also the application-log filter
// AWS applies to JSON lines in JSON format (ApplicationLogLevel).
// AWS documents followed: "Configuring JSON and plain text log formats",
// "Log-level filtering" (Lambda developer guide) and the Telemetry API's
// event schema reference for the records' fields. Pure; any thread.
#pragma once

#include "format.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace lambdad::logs {

enum class SystemLevel { Debug, Info, Warn };

struct LogConfig {
  bool json = false;
  std::string application_level;  // JSON only: TRACE, DEBUG, INFO, WARN, ERROR, FATAL
  SystemLevel system = SystemLevel::Info;
  std::string group;  // the log group's name; "" for the function's own, /aws/lambda/<name>
};

// How an invocation (or an init) ended, for platform.runtimeDone/report.
struct RunStatus {
  std::string status = "success";  // success, error, timeout, failure
  std::string error_type;          // with error and failure, when known
};

class Platform {
 public:
  explicit Platform(LogConfig const& c) : c_(c) {}

  // Each gives the line to write, or "" where the format or SystemLogLevel
  // leaves it out.
  std::string init_start(std::string_view runtime, std::string_view region) const;
  std::string start(std::string_view request_id, std::string_view version) const;
  // END; in JSON, platform.runtimeDone (at DEBUG only).
  std::string end(std::string_view request_id, double runtime_ms, RunStatus const& s) const;
  std::string report(std::string_view request_id, ReportFigures const& f, RunStatus const& s) const;
  // Text only: in JSON the timeout is the report's status.
  std::string timeout(std::chrono::system_clock::time_point at, std::string_view request_id,
                      double timeout_seconds) const;
  std::string init_report(double init_ms, std::string_view error_type) const;

  // Whether an application line is kept: in JSON format, a line that is a
  // JSON object with a "level" below ApplicationLogLevel is dropped; any
  // other line is kept (one without a valid level counts as INFO).
  bool keeps(std::string_view line) const;

 private:
  // WARN writes only what did not succeed; INFO adds the rest but
  // runtimeDone, which is DEBUG's.
  bool writes(SystemLevel level) const { return level >= c_.system; }
  LogConfig c_;
};

}  // namespace lambdad::logs
