#include "query.hpp"

#include "util/crypto.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace lambdad::logs {

std::string group_name_of_key(std::string const& key) {
  if (key.empty()) return "";
  if (key.front() != '%') return "/aws/lambda/" + key;
  if (key.find('~') != std::string::npos) return "";  // a long name: its end is a hash
  std::string out;
  for (std::size_t i = 1; i < key.size(); ++i) {
    if (key.compare(i, 3, "%2F") == 0) {
      out += '/';
      i += 2;
    } else if (key.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else {
      out += key[i];
    }
  }
  return out;
}

bool FilterPattern::matches(std::string_view message) const {
  for (auto const& t : all)
    if (message.find(t) == std::string_view::npos) return false;
  if (any.empty()) return true;
  return std::any_of(any.begin(), any.end(), [&](auto const& t) { return message.find(t) != std::string_view::npos; });
}

std::optional<FilterPattern> parse_filter(std::string const& text, std::string& error) {
  FilterPattern p;
  std::size_t i = 0, n = text.size();
  while (i < n) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    if (text[i] == '{' || text[i] == '[') {
      error = "lambdad supports plain-term and quoted-phrase filter patterns, not JSON or space-delimited ones: " + text;
      return std::nullopt;
    }
    bool optional = text[i] == '?';
    if (optional) ++i;
    std::string term;
    if (i < n && text[i] == '"') {
      auto close = text.find('"', i + 1);
      if (close == std::string::npos) {
        error = "Invalid filter pattern: an unterminated quoted phrase in " + text;
        return std::nullopt;
      }
      term = text.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      auto end = text.find_first_of(" \t", i);
      if (end == std::string::npos) end = n;
      term = text.substr(i, end - i);
      i = end;
    }
    if (term.empty()) continue;
    (optional ? p.any : p.all).push_back(std::move(term));
  }
  return p;
}

std::string event_id(LogEvent const& e) {
  // time (20 digits), a hash of the stream (20), the line in it (16).
  auto digest = util::sha256(e.stream);
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | digest[static_cast<std::size_t>(i)];
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020lld%020llu%016llu", static_cast<long long>(e.time_ms),
                static_cast<unsigned long long>(h), static_cast<unsigned long long>(e.line));
  return buf;
}

std::vector<StreamSummary> summarize(std::vector<LogEvent> const& events) {
  std::map<std::string, StreamSummary> by;
  for (auto const& e : events) {
    auto [it, fresh] = by.try_emplace(e.stream);
    auto& s = it->second;
    if (fresh) {
      s.name = e.stream;
      s.first_ms = s.last_ms = e.time_ms;
    }
    s.first_ms = std::min(s.first_ms, e.time_ms);
    s.last_ms = std::max(s.last_ms, e.time_ms);
    s.bytes += e.message.size();
  }
  std::vector<StreamSummary> out;
  for (auto& [name, s] : by) out.push_back(std::move(s));
  return out;
}

namespace {

bool selected(LogEvent const& e, EventQuery const& q) {
  if (q.start_ms && e.time_ms < *q.start_ms) return false;
  if (q.end_ms && e.time_ms > *q.end_ms) return false;
  if (!q.streams.empty() && std::find(q.streams.begin(), q.streams.end(), e.stream) == q.streams.end()) return false;
  if (!q.stream_prefix.empty() && e.stream.rfind(q.stream_prefix, 0) != 0) return false;
  return !q.pattern || q.pattern->matches(e.message);
}

}  // namespace

Page filter_page(std::vector<LogEvent> const& events, EventQuery const& q) {
  constexpr std::size_t kMaxBytes = 1048576;  // a page holds at most 1 MB of events, as CloudWatch's
  Page page;
  std::size_t matched = 0, bytes = 0;
  for (auto const& e : events) {
    if (!selected(e, q)) continue;
    if (matched++ < q.offset) continue;
    if (page.events.size() >= q.limit || (bytes + e.message.size() + 26 > kMaxBytes && !page.events.empty())) {
      page.more = true;
      break;
    }
    bytes += e.message.size() + 26;
    page.events.push_back(e);
  }
  page.next_offset = q.offset + page.events.size();
  return page;
}

std::string page_token(char kind, std::size_t offset) {
  return std::string(1, kind) + "/" + std::to_string(offset) + "/lambdad";
}

std::optional<std::size_t> token_offset(std::string const& token, char kind) {
  if (token.size() < 3 || token[0] != kind || token[1] != '/') return std::nullopt;
  std::size_t used = 0;
  try {
    auto n = std::stoull(token.substr(2), &used);
    if (token.substr(2 + used) != "/lambdad") return std::nullopt;
    return static_cast<std::size_t>(n);
  } catch (std::exception const&) {
    return std::nullopt;
  }
}

}  // namespace lambdad::logs
