// The lines Lambda writes around a function's own output, formatted exactly
// as the console and CloudWatch show them (START / END / REPORT, the
// timeout line, INIT_REPORT), plus log stream names and the Tail header.
// Pure; any thread. Every figure passed in must be measured by the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambdad::logs {

struct ReportFigures {
  double duration_ms = 0;                 // from dispatch to the runtime's response
  std::optional<double> init_ms;          // set on a cold start only
  int memory_size_mb = 128;               // the function's MemorySize
  std::optional<std::uint64_t> max_memory_bytes;  // peak of the environment, if it could be measured
};

// "INIT_START Runtime Version: provided:al2023.lambdad-0.1.0\tRuntime Version ARN: arn:aws:lambda:REGION::runtime:<64 hex>",
// written before a cold start's init output, as CloudWatch shows it. The
// version names the runtime identifier and lambdad's own version (what
// actually serves the runtime here); the ARN's hash is of that string.
std::string init_start_line(std::string_view runtime, std::string_view region);
// "provided:al2023.lambdad-0.1.0" for "provided.al2023", and its ARN.
std::string runtime_version(std::string_view runtime);
std::string runtime_version_arn(std::string_view version, std::string_view region);
// "2026-11-28T12:00:03.001Z"
std::string iso_time(std::chrono::system_clock::time_point at);
std::string start_line(std::string_view request_id, std::string_view version = "$LATEST");
std::string end_line(std::string_view request_id);
// "REPORT RequestId: <id>\tDuration: 109.60 ms\tBilled Duration: 559 ms\tMemory Size: 128 MB\t
//  Max Memory Used: 117 MB\tInit Duration: 448.61 ms\t". Billed Duration is
// duration + init (custom runtimes are billed for init), rounded up to the
// next millisecond. Where peak memory was not measurable the field says so
// instead of carrying an invented number.
std::string report_line(std::string_view request_id, ReportFigures const& f);
std::int64_t billed_duration_ms(ReportFigures const& f);
// Bytes as REPORT's Max Memory Used shows them: MB, rounded up.
std::uint64_t megabytes(std::uint64_t bytes);
// "2026-11-28T12:00:03.001Z <id> Task timed out after 3.00 seconds"
std::string timeout_line(std::chrono::system_clock::time_point at, std::string_view request_id,
                         double timeout_seconds);
// "INIT_REPORT Init Duration: 206.72 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"
std::string init_report_line(double init_ms, std::string_view error_type);
// "2026/11/28/[$LATEST]<32 hex>"; in a log group of its own
// (LoggingConfig.LogGroup), "2026/11/28/<function>[$LATEST]<32 hex>".
std::string log_stream_name(std::chrono::system_clock::time_point at, std::string_view version = "$LATEST",
                            std::string_view function = "");
// X-Amz-Log-Result: base64 of the last 4 KB of an invocation's log.
std::string tail_header(std::string_view log);

}  // namespace lambdad::logs
