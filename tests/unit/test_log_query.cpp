// Reading log groups as the CloudWatch Logs API does: group names from store
// keys, filter patterns, event ids, pages and their tokens.
#include <doctest/doctest.h>

#include "logs/query.hpp"

using namespace lambdad::logs;

namespace {

LogEvent ev(std::int64_t t, std::string stream, std::string msg, std::uint64_t line) {
  LogEvent e;
  e.time_ms = t;
  e.stream = std::move(stream);
  e.message = std::move(msg);
  e.line = line;
  return e;
}

}  // namespace

TEST_CASE("group names from store keys, and back") {
  CHECK(group_name_of_key("fn") == "/aws/lambda/fn");
  CHECK(group_name_of_key(group_key("/custom/app%1")) == "/custom/app%1");
  CHECK(group_key(group_name_of_key("fn")) == "fn");
  CHECK(group_name_of_key(group_key("/x/" + std::string(400, 'a'))).empty());  // hashed: not recoverable
}

TEST_CASE("filter patterns: terms, quoted phrases, ?any; JSON refused") {
  std::string why;
  auto p = parse_filter(R"(ERROR "disk full")", why);
  REQUIRE(p);
  CHECK(p->matches("ERROR: disk full on /tmp"));
  CHECK_FALSE(p->matches("ERROR: disk is full"));
  CHECK_FALSE(p->matches("error: disk full"));  // case-sensitive
  auto any = parse_filter("?alpha ?beta", why);
  REQUIRE(any);
  CHECK(any->matches("beta"));
  CHECK_FALSE(any->matches("gamma"));
  CHECK(parse_filter("", why)->matches("anything"));
  CHECK_FALSE(parse_filter(R"({ $.level = "ERROR" })", why));
  CHECK(why.find("JSON") != std::string::npos);
  CHECK_FALSE(parse_filter(R"("unterminated)", why));
}

TEST_CASE("event ids: 56 digits, stable, distinct per line and stream") {
  auto a = ev(1700000000000, "2026/12/01/[$LATEST]ab", "m", 0);
  auto b = ev(1700000000000, "2026/12/01/[$LATEST]ab", "m", 1);
  auto c = ev(1700000000000, "2026/12/01/[$LATEST]cd", "m", 0);
  CHECK(event_id(a).size() == 56);
  CHECK(event_id(a) == event_id(ev(1700000000000, "2026/12/01/[$LATEST]ab", "other", 0)));
  CHECK(event_id(a) != event_id(b));
  CHECK(event_id(a) != event_id(c));
}

TEST_CASE("pages: limit, offset, time range inclusive, stream prefix; tokens round-trip") {
  std::vector<LogEvent> events;
  for (int i = 0; i < 10; ++i) events.push_back(ev(1000 + i, i % 2 ? "b/1" : "a/1", "n" + std::to_string(i), i / 2));
  EventQuery q;
  q.limit = 4;
  auto first = filter_page(events, q);
  CHECK(first.events.size() == 4);
  CHECK(first.more);
  q.offset = first.next_offset;
  q.limit = 100;
  auto rest = filter_page(events, q);
  CHECK(rest.events.size() == 6);
  CHECK_FALSE(rest.more);
  EventQuery range;
  range.start_ms = 1002;
  range.end_ms = 1004;
  CHECK(filter_page(events, range).events.size() == 3);
  EventQuery prefix;
  prefix.stream_prefix = "b/";
  CHECK(filter_page(events, prefix).events.size() == 5);
  CHECK(token_offset(page_token('e', 42), 'e') == std::optional<std::size_t>(42));
  CHECK_FALSE(token_offset(page_token('e', 42), 'f'));
  CHECK_FALSE(token_offset("garbage", 'e'));
  auto streams = summarize(events);
  REQUIRE(streams.size() == 2);
  CHECK(streams[0].name == "a/1");
  CHECK(streams[0].first_ms == 1000);
  CHECK(streams[1].last_ms == 1009);
}
