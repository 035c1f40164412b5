// The console's log lines, byte for byte, and the line splitter.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
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
