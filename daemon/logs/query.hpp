// Reading log groups the way the CloudWatch Logs API does (pure: no I/O):
// group names from the store's keys, filter patterns (plain terms, quoted
// phrases, ?any terms), stable event ids, stream summaries, and the pages
// FilterLogEvents and GetLogEvents return. Any thread.
#pragma once

#include "store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lambdad::logs {

// The log group a store key holds: /aws/lambda/NAME for a function's key,
// the unescaped name for "%..." keys; "" for a long name's hashed key (the
// caller knows it from a function's LoggingConfig, or not at all).
std::string group_name_of_key(std::string const& key);

// A filter pattern in CloudWatch's plain syntax: every term (a word or a
// "quoted phrase") must occur; terms written ?term: at least one of them.
// Case-sensitive, as CloudWatch matches. JSON and space-delimited patterns
// are not supported: parse_filter says so.
struct FilterPattern {
  std::vector<std::string> all;
  std::vector<std::string> any;
  bool matches(std::string_view message) const;
};
// The pattern, or the reason it cannot be used.
std::optional<FilterPattern> parse_filter(std::string const& text, std::string& error);

// An event's id: 56 digits from its time, its stream and its line there,
// the same at every read (`aws logs tail --follow` dedupes by it).
std::string event_id(LogEvent const& e);

struct StreamSummary {
  std::string name;
  std::int64_t first_ms = 0, last_ms = 0;
  std::uint64_t bytes = 0;
};
// One per stream of `events`, in name order.
std::vector<StreamSummary> summarize(std::vector<LogEvent> const& events);

// A page of matching events: [offset, offset + n) of those that match, n
// bounded by `limit` and 1 MB of messages; more: whether any follow.
struct Page {
  std::vector<LogEvent> events;
  std::size_t next_offset = 0;
  bool more = false;
};
struct EventQuery {
  std::optional<std::int64_t> start_ms, end_ms;  // inclusive both (FilterLogEvents)
  std::vector<std::string> streams;              // logStreamNames; empty: all
  std::string stream_prefix;                     // logStreamNamePrefix
  std::optional<FilterPattern> pattern;
  std::size_t offset = 0;
  std::size_t limit = 10000;
};
Page filter_page(std::vector<LogEvent> const& events, EventQuery const& q);

// The paging token of an offset, and back ("" or anything else: nullopt).
std::string page_token(char kind, std::size_t offset);
std::optional<std::size_t> token_offset(std::string const& token, char kind);

}  // namespace lambdad::logs
