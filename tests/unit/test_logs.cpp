// The console's log lines, byte for byte, and the line splitter.
#include <doctest/doctest.h>

#include "logs/format.hpp"
#include "logs/line_splitter.hpp"
#include "util/crypto.hpp"

#include <regex>
#include <vector>

using namespace lambdad::logs;

TEST_CASE("START, END and the seed's REPORT lines") {
  std::string id = "e0d573c2-5afa-4567-af74-592f12efa094";
  CHECK(start_line(id) == "START RequestId: " + id + " Version: $LATEST");
  CHECK(end_line(id) == "END RequestId: " + id);
  // The seed's successful cold start: billed = ceil(109.60 + 448.61) = 559.
  ReportFigures cold{109.60, 448.61, 128, 117u << 20};
  CHECK(report_line(id, cold) == "REPORT RequestId: " + id +
                                     "\tDuration: 109.60 ms\tBilled Duration: 559 ms\tMemory Size: 128 MB\t"
                                     "Max Memory Used: 117 MB\tInit Duration: 448.61 ms\t");
  // The seed's failed invoke, no init figure: billed = ceil(594.19) = 595.
  ReportFigures warm{594.19, std::nullopt, 128, 21u << 20};
  CHECK(report_line("8292cbcf-2862-4189-97c2-757bc58a4ed8", warm) ==
        "REPORT RequestId: 8292cbcf-2862-4189-97c2-757bc58a4ed8\tDuration: 594.19 ms\tBilled Duration: 595 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 21 MB\t");
}

TEST_CASE("billing rounds up to the millisecond, memory up to the MB") {
  CHECK(billed_duration_ms({1.0, std::nullopt, 128, 0}) == 1);
  CHECK(billed_duration_ms({1.01, std::nullopt, 128, 0}) == 2);
  CHECK(billed_duration_ms({0.4, 0.7, 128, 0}) == 2);
  ReportFigures f{2.0, std::nullopt, 256, (20u << 20) + 1};
  CHECK(report_line("x", f).find("Max Memory Used: 21 MB") != std::string::npos);
}

TEST_CASE("an unmeasurable peak is said, not invented") {
  ReportFigures f{2.0, std::nullopt, 128, std::nullopt};
  auto line = report_line("x", f);
  CHECK(line.find("Max Memory Used: unmeasured\t") != std::string::npos);
}

TEST_CASE("timeout, INIT_REPORT, stream names, Tail") {
  using namespace std::chrono;
  system_clock::time_point at{milliseconds(1764331203001)};  // 2025-11-28T12:00:03.001Z
  CHECK(timeout_line(at, "abc", 3) == "2025-11-28T12:00:03.001Z abc Task timed out after 3.00 seconds");
  CHECK(init_report_line(206.72, "Runtime.ExitError") ==
        "INIT_REPORT Init Duration: 206.72 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError");
  auto stream = log_stream_name(at);
  CHECK(std::regex_match(stream, std::regex(R"(2025/11/28/\[\$LATEST\][0-9a-f]{32})")));
  CHECK(log_stream_name(at) != stream);

  std::string small = "START\nEND\n";
  CHECK(*lambdad::util::base64_decode(tail_header(small)) == small);
  std::string big(5000, 'a');
  big += "LAST";
  auto tail = *lambdad::util::base64_decode(tail_header(big));
  CHECK(tail.size() == 4096);
  CHECK(tail.substr(4092) == "LAST");
}

TEST_CASE("the line splitter: partial writes, CRLF, a last line without newline, long lines") {
  std::vector<std::string> lines;
  LineSplitter split([&](std::string_view l) { lines.emplace_back(l); }, 8);
  split.feed("hel");
  split.feed("lo\nwor");
  split.feed("ld\r\n\nab");
  CHECK(lines == std::vector<std::string>{"hello", "world", ""});
  split.feed("cdefghijklmnop\n");  // 16 chars with "ab": two events of 8
  CHECK(lines == std::vector<std::string>{"hello", "world", "", "abcdefgh", "ijklmnop"});
  split.feed("12345678\n");  // exactly the limit: one event, no empty one after it
  CHECK(lines.back() == "12345678");
  CHECK(lines.size() == 6);
  split.feed("tail");
  split.flush();
  CHECK(lines.back() == "tail");
  split.flush();
  CHECK(lines.size() == 7);
}

// ---- LoggingConfig: the JSON format's platform records, levels, groups

#include "logs/platform.hpp"
#include "logs/store.hpp"

#include <nlohmann/json.hpp>

namespace {

nlohmann::ordered_json parsed(std::string const& line) { return nlohmann::ordered_json::parse(line); }

LogConfig json_config(SystemLevel system, std::string app = "INFO") {
  LogConfig c;
  c.json = true;
  c.system = system;
  c.application_level = std::move(app);
  return c;
}

}  // namespace

TEST_CASE("Text format: the Text lines, whatever the levels") {
  Platform p(LogConfig{});
  std::string id = "e0d573c2-5afa-4567-af74-592f12efa094";
  CHECK(p.start(id, "$LATEST") == start_line(id));
  CHECK(p.end(id, 1.0, {}) == end_line(id));
  CHECK(p.init_start("python3.12", "us-east-1").rfind("INIT_START Runtime Version: python:3.12.lambdad-", 0) == 0);
  CHECK(p.keeps(R"({"level":"TRACE","message":"m"})"));
}

TEST_CASE("runtime versions as AWS names them") {
  CHECK(runtime_version("provided.al2023").rfind("provided:al2023.", 0) == 0);
  CHECK(runtime_version("python3.12").rfind("python:3.12.", 0) == 0);
  CHECK(runtime_version("nodejs20.x").rfind("nodejs:20.", 0) == 0);
}

TEST_CASE("JSON format: platform records with their fields, in order") {
  Platform p(json_config(SystemLevel::Info));
  auto start = parsed(p.start("r1", "3"));
  CHECK(start.dump() == R"({"time":")" + start["time"].get<std::string>() +
                            R"(","type":"platform.start","record":{"requestId":"r1","version":"3"}})");
  auto init = parsed(p.init_start("nodejs20.x", "eu-west-1"));
  CHECK(init["type"] == "platform.initStart");
  CHECK(init["record"]["initializationType"] == "on-demand");
  CHECK(init["record"]["phase"] == "init");
  CHECK(init["record"]["runtimeVersionArn"].get<std::string>().rfind("arn:aws:lambda:eu-west-1::runtime:", 0) == 0);
  ReportFigures cold{109.6049, 448.6111, 256, 117u << 20};
  auto report = parsed(p.report("r1", cold, {}));
  CHECK(report["record"].dump() ==
        R"({"requestId":"r1","metrics":{"durationMs":109.605,"billedDurationMs":559,"memorySizeMB":256,)"
        R"("maxMemoryUsedMB":117,"initDurationMs":448.611},"status":"success"})");
  ReportFigures unmeasured{2.0, std::nullopt, 128, std::nullopt};
  auto failed = parsed(p.report("r2", unmeasured, {"error", "ValueError"}));
  CHECK(failed["record"].dump() ==
        R"({"requestId":"r2","metrics":{"durationMs":2.0,"billedDurationMs":2,"memorySizeMB":128},)"
        R"("status":"error","errorType":"ValueError"})");
  auto init_report = parsed(p.init_report(206.72, "Runtime.ExitError"));
  CHECK(init_report["record"].dump() ==
        R"({"initializationType":"on-demand","phase":"init","status":"error","errorType":"Runtime.ExitError",)"
        R"("metrics":{"durationMs":206.72}})");
  CHECK(p.timeout(std::chrono::system_clock::now(), "r1", 3.0).empty());  // the report's status says it
}

TEST_CASE("SystemLogLevel: DEBUG adds runtimeDone, WARN keeps only what failed") {
  ReportFigures f{1.0, std::nullopt, 128, std::nullopt};
  Platform debug(json_config(SystemLevel::Debug)), info(json_config(SystemLevel::Info)),
      warn(json_config(SystemLevel::Warn));
  CHECK(parsed(debug.end("r", 1.5, {}))["type"] == "platform.runtimeDone");
  CHECK(info.end("r", 1.5, {}).empty());
  CHECK(!info.start("r", "$LATEST").empty());
  CHECK(warn.start("r", "$LATEST").empty());
  CHECK(warn.init_start("provided.al2023", "us-east-1").empty());
  CHECK(warn.report("r", f, {}).empty());
  CHECK(!warn.report("r", f, {"timeout", "Sandbox.Timedout"}).empty());
  CHECK(!warn.init_report(1.0, "Runtime.ExitError").empty());
}

TEST_CASE("ApplicationLogLevel filters JSON lines with a level; other lines stay") {
  Platform p(json_config(SystemLevel::Info, "WARN"));
  CHECK(!p.keeps(R"({"level":"INFO","message":"m"})"));
  CHECK(!p.keeps(R"({"level":"debug"})"));
  CHECK(p.keeps(R"({"level":"WARN"})"));
  CHECK(p.keeps(R"({"level":"WARNING"})"));  // Python's name
  CHECK(p.keeps(R"({"log_level":"ERROR","errorType":"E"})"));  // Python's error record
  CHECK(!p.keeps(R"({"message":"no level is INFO"})"));
  CHECK(p.keeps("plain text"));
  CHECK(p.keeps("{not json"));
  CHECK(p.keeps(R"(["a list"])"));
  Platform info(json_config(SystemLevel::Info, "INFO"));
  CHECK(info.keeps(R"({"level":"nonsense"})"));  // an unknown level counts as INFO
}

TEST_CASE("log group keys and stream names") {
  CHECK(group_key("/aws/lambda/my-fn_1") == "my-fn_1");
  CHECK(group_key("/shared/app-logs") == "%%2Fshared%2Fapp-logs");
  CHECK(group_key("..") == "%..");
  CHECK(group_key("/aws/lambda/") == "%%2Faws%2Flambda%2F");
  auto long_key = group_key("/" + std::string(511, 'g'));
  CHECK(long_key.size() == 200);  // a file name of its own, under 255 bytes
  CHECK(long_key != group_key("/" + std::string(510, 'g') + "h"));
  auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1764547200));  // 2025-12-01
  CHECK(std::regex_match(log_stream_name(at, "$LATEST", "orders"),
                         std::regex(R"(2025/12/01/orders\[\$LATEST\][0-9a-f]{32})")));
}
