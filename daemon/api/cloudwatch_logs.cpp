// The CloudWatch Logs API over the log groups lambdad keeps (issue 15):
// awsJson1.1 on the daemon's port (POST /, X-Amz-Target
// Logs_20140328.<Op>): DescribeLogGroups, DescribeLogStreams, GetLogEvents,
// FilterLogEvents. What `aws logs tail [--follow]` needs (botocore's logs
// model, the AWS CLI v2's logs/tail.py): every event has ingestionTime and a
// stable eventId, startTime is inclusive, the last page has no nextToken.
// Groups are read on the pool (files the io thread only appends to).
#include "control_plane.hpp"

#include "../logs/query.hpp"
#include "util/offload.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

Response json11(Call const& call, unsigned status, json const& body) {
  Response res = json_response(call, status, body);
  res.set(bhttp::field::content_type, "application/x-amz-json-1.1");
  return res;
}


}  // namespace

// awsJson1.1's error: {"__type", "message"}, as botocore's JSON parser reads it.
Response json11_error(Call const& call, std::string const& type, std::string const& message, unsigned status) {
  return json11(call, status, json{{"__type", type}, {"message", message}});
}

namespace {

std::optional<std::int64_t> opt_int(json const& body, char const* key) {
  if (!body.contains(key) || !body[key].is_number_integer()) return std::nullopt;
  return body[key].get<std::int64_t>();
}

std::string opt_string(json const& body, char const* key) {
  return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : "";
}

// logGroupName, or logGroupIdentifier (a name or an ARN ending in log-group:NAME[:*]).
std::string group_name(json const& body) {
  std::string name = opt_string(body, "logGroupName");
  if (!name.empty()) return name;
  std::string id = opt_string(body, "logGroupIdentifier");
  auto at = id.find(":log-group:");
  if (at == std::string::npos) return id;
  id = id.substr(at + 11);
  if (id.size() > 2 && id.compare(id.size() - 2, 2, ":*") == 0) id.resize(id.size() - 2);
  return id;
}

struct Limit {
  std::size_t value;
  std::optional<std::string> error;
};

Limit limit_of(json const& body, std::size_t max, std::size_t fallback) {
  auto v = opt_int(body, "limit");
  if (!v) return {fallback, std::nullopt};
  if (*v < 1 || static_cast<std::size_t>(*v) > max)
    return {0, "1 validation error detected: Value '" + std::to_string(*v) +
                   "' at 'limit' failed to satisfy constraint: Member must have value " +
                   (*v < 1 ? "greater than or equal to 1" : "less than or equal to " + std::to_string(max))};
  return {static_cast<std::size_t>(*v), std::nullopt};
}

json event_json(logs::LogEvent const& e, bool with_stream) {
  json j{{"timestamp", e.time_ms}, {"message", e.message}, {"ingestionTime", e.time_ms}};
  if (with_stream) {
    j["logStreamName"] = e.stream;
    j["eventId"] = logs::event_id(e);
  }
  return j;
}

}  // namespace

std::string ControlPlane::logs_arn(std::string const& group) const {
  return "arn:aws:logs:" + cfg_.identity.region + ":" + cfg_.identity.account + ":log-group:" + group;
}

asio::awaitable<Response> ControlPlane::cloudwatch_logs(Call call) {
  std::string target(call.req["X-Amz-Target"]);
  std::string op = target.substr(target.find('.') + 1);
  json body = json::parse(call.req.body().empty() ? std::string("{}") : call.req.body(), nullptr, false);
  if (!body.is_object()) co_return json11_error(call, "SerializationException", "The request body is not a JSON object");
  if (!logs_) co_return json11_error(call, "ServiceUnavailableException", "lambdad keeps no logs in this mode", 503);
  if (op == "DescribeLogGroups") co_return co_await describe_log_groups(std::move(call), std::move(body));
  if (op == "DescribeLogStreams") co_return co_await describe_log_streams(std::move(call), std::move(body));
  if (op == "GetLogEvents") co_return co_await get_log_events(std::move(call), std::move(body));
  if (op == "FilterLogEvents") co_return co_await filter_log_events(std::move(call), std::move(body));
  if (op == "PutRetentionPolicy" || op == "DeleteRetentionPolicy")
    co_return co_await retention_policy(std::move(call), std::move(body), op == "PutRetentionPolicy");
  co_return json11_error(call, "UnknownOperationException",
                         "lambdad serves DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents, "
                         "PutRetentionPolicy and DeleteRetentionPolicy of CloudWatch Logs, not " + op);
}

// Every group: those on disk (their names from their keys, or from the
// LoggingConfig of a function that logs there) and those functions will
// write to, with the time of their first event.
asio::awaitable<Response> ControlPlane::describe_log_groups(Call call, json body) {
  auto limit = limit_of(body, 50, 50);
  if (limit.error) co_return json11_error(call, "InvalidParameterException", *limit.error);
  std::map<std::string, std::string> names;  // key -> group name
  for (auto const& [fn, state] : functions_.all()) {
    auto group = model::log_group_of(fn, state.latest.logging);
    names[logs::group_key(group)] = group;
  }
  auto* store = logs_;
  store->flush();  // a group whose first lines are still pending is listed too
  auto list = [store] { return store->groups(); };
  auto on_disk = co_await util::offload(pool_.get_executor(), std::move(list));
  std::map<std::string, std::int64_t> created;
  for (auto const& g : on_disk) created[g.key] = g.first_ms;
  for (auto const& [key, first] : created)
    if (!names.count(key)) names[key] = logs::group_name_of_key(key);
  std::string prefix = opt_string(body, "logGroupNamePrefix");
  std::vector<std::string> groups;
  for (auto const& [key, name] : names)
    if (!name.empty() && name.rfind(prefix, 0) == 0 && created.count(key)) groups.push_back(name);
  std::sort(groups.begin(), groups.end());
  std::size_t from = logs::token_offset(opt_string(body, "nextToken"), 'g').value_or(0);
  json out = json::array();
  for (std::size_t i = from; i < groups.size() && out.size() < limit.value; ++i) {
    auto key = logs::group_key(groups[i]);
    json g{{"logGroupName", groups[i]}, {"creationTime", created[key]}, {"metricFilterCount", 0},
           {"arn", logs_arn(groups[i]) + ":*"}, {"logGroupArn", logs_arn(groups[i])}, {"storedBytes", 0}};
    if (auto days = logs_->retention(key)) g["retentionInDays"] = *days;
    else if (cfg_.log_retention_days > 0) g["retentionInDays"] = cfg_.log_retention_days;
    out.push_back(std::move(g));
  }
  json res{{"logGroups", out}};
  if (from + out.size() < groups.size()) res["nextToken"] = logs::page_token('g', from + out.size());
  co_return json11(call, 200, res);
}

asio::awaitable<std::optional<std::vector<logs::LogEvent>>> ControlPlane::read_log_group(std::string group) {
  std::string key = logs::group_key(group);
  auto* store = logs_;
  store->flush();  // what was appended in this io turn is read too
  auto read = [store, key]() -> std::optional<std::vector<logs::LogEvent>> {
    if (!store->group_exists(key)) return std::nullopt;
    return store->read_group(key);
  };
  co_return co_await util::offload(pool_.get_executor(), std::move(read));
}

asio::awaitable<Response> ControlPlane::describe_log_streams(Call call, json body) {
  auto limit = limit_of(body, 50, 50);
  if (limit.error) co_return json11_error(call, "InvalidParameterException", *limit.error);
  std::string group = group_name(body);
  auto events = co_await read_log_group(group);
  if (!events) co_return json11_error(call, "ResourceNotFoundException", "The specified log group does not exist.");
  auto streams = logs::summarize(*events);
  std::string prefix = opt_string(body, "logStreamNamePrefix");
  std::erase_if(streams, [&](auto const& s) { return s.name.rfind(prefix, 0) != 0; });
  if (opt_string(body, "orderBy") == "LastEventTime")
    std::stable_sort(streams.begin(), streams.end(), [](auto const& a, auto const& b) { return a.last_ms < b.last_ms; });
  if (body.value("descending", false)) std::reverse(streams.begin(), streams.end());
  std::size_t from = logs::token_offset(opt_string(body, "nextToken"), 's').value_or(0);
  json out = json::array();
  for (std::size_t i = from; i < streams.size() && out.size() < limit.value; ++i) {
    auto const& s = streams[i];
    out.push_back(json{{"logStreamName", s.name}, {"creationTime", s.first_ms}, {"firstEventTimestamp", s.first_ms},
                       {"lastEventTimestamp", s.last_ms}, {"lastIngestionTime", s.last_ms},
                       {"arn", logs_arn(group) + ":log-stream:" + s.name}, {"storedBytes", 0}});
  }
  json res{{"logStreams", out}};
  if (from + out.size() < streams.size()) res["nextToken"] = logs::page_token('s', from + out.size());
  co_return json11(call, 200, res);
}

asio::awaitable<Response> ControlPlane::filter_log_events(Call call, json body) {
  auto limit = limit_of(body, 10000, 10000);
  if (limit.error) co_return json11_error(call, "InvalidParameterException", *limit.error);
  logs::EventQuery q;
  q.limit = limit.value;
  q.start_ms = opt_int(body, "startTime");
  q.end_ms = opt_int(body, "endTime");
  q.stream_prefix = opt_string(body, "logStreamNamePrefix");
  if (body.contains("logStreamNames") && body["logStreamNames"].is_array())
    for (auto const& s : body["logStreamNames"])
      if (s.is_string()) q.streams.push_back(s.get<std::string>());
  if (!q.streams.empty() && !q.stream_prefix.empty())
    co_return json11_error(call, "InvalidParameterException",
                           "Cannot specify both logStreamNames and logStreamNamePrefix");
  if (auto text = opt_string(body, "filterPattern"); !text.empty()) {
    std::string why;
    q.pattern = logs::parse_filter(text, why);
    if (!q.pattern) co_return json11_error(call, "InvalidParameterException", why);
  }
  if (auto token = opt_string(body, "nextToken"); !token.empty()) {
    auto at = logs::token_offset(token, 'e');
    if (!at) co_return json11_error(call, "InvalidParameterException", "The specified nextToken is invalid.");
    q.offset = *at;
  }
  std::string group = group_name(body);
  auto events = co_await read_log_group(group);
  if (!events) co_return json11_error(call, "ResourceNotFoundException", "The specified log group does not exist.");
  auto page = logs::filter_page(*events, q);
  json out = json::array(), searched = json::array();
  for (auto const& e : page.events) out.push_back(event_json(e, true));
  for (auto const& s : logs::summarize(*events))
    if ((q.streams.empty() || std::count(q.streams.begin(), q.streams.end(), s.name)) && s.name.rfind(q.stream_prefix, 0) == 0)
      searched.push_back(json{{"logStreamName", s.name}, {"searchedCompletely", !page.more}});
  json res{{"events", out}, {"searchedLogStreams", searched}};
  if (page.more) res["nextToken"] = logs::page_token('e', page.next_offset);
  co_return json11(call, 200, res);
}

asio::awaitable<Response> ControlPlane::get_log_events(Call call, json body) {
  auto limit = limit_of(body, 10000, 10000);
  if (limit.error) co_return json11_error(call, "InvalidParameterException", *limit.error);
  std::string stream = opt_string(body, "logStreamName");
  if (stream.empty())
    co_return json11_error(call, "InvalidParameterException", "1 validation error detected: Value null at "
                                                               "'logStreamName' failed to satisfy constraint: Member "
                                                               "must not be null");
  auto events = co_await read_log_group(group_name(body));
  if (!events) co_return json11_error(call, "ResourceNotFoundException", "The specified log group does not exist.");
  std::vector<logs::LogEvent> mine;
  auto start = opt_int(body, "startTime"), end = opt_int(body, "endTime");  // end exclusive, as GetLogEvents has it
  bool found = false;
  for (auto& e : *events) {
    if (e.stream != stream) continue;
    found = true;
    if ((!start || e.time_ms >= *start) && (!end || e.time_ms < *end)) mine.push_back(std::move(e));
  }
  if (!found) co_return json11_error(call, "ResourceNotFoundException", "The specified log stream does not exist.");
  std::string token = opt_string(body, "nextToken");
  auto fwd = logs::token_offset(token, 'f'), back = logs::token_offset(token, 'b');
  if (!token.empty() && !fwd && !back)
    co_return json11_error(call, "InvalidParameterException", "The specified nextToken is invalid.");
  std::size_t n = mine.size(), from, to;
  if (fwd) from = std::min(*fwd, n), to = std::min(n, from + limit.value);
  else if (back) to = std::min(*back, n), from = to > limit.value ? to - limit.value : 0;
  else if (body.value("startFromHead", false)) from = 0, to = std::min(n, limit.value);
  else to = n, from = n > limit.value ? n - limit.value : 0;
  json out = json::array();
  for (std::size_t i = from; i < to; ++i) out.push_back(event_json(mine[i], false));
  // At the end the forward token is the one given, as CloudWatch echoes it.
  co_return json11(call, 200, json{{"events", out}, {"nextForwardToken", logs::page_token('f', to)},
                                   {"nextBackwardToken", logs::page_token('b', from)}});
}

// PutRetentionPolicy (retentionInDays, CloudWatch's set of values) and
// DeleteRetentionPolicy; streams past it are deleted by expire_logs.
asio::awaitable<Response> ControlPlane::retention_policy(Call call, json body, bool put) {
  static constexpr int kDays[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                  365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
  std::optional<int> days;
  if (put) {
    auto v = opt_int(body, "retentionInDays");
    if (!v || std::find(std::begin(kDays), std::end(kDays), *v) == std::end(kDays)) {
      std::string set;
      for (int d : kDays) set += (set.empty() ? "" : ", ") + std::to_string(d);
      co_return json11_error(call, "InvalidParameterException",
                             "1 validation error detected: Value '" + (v ? std::to_string(*v) : std::string("null")) +
                                 "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value "
                                 "set: [" + set + "]");
    }
    days = static_cast<int>(*v);
  }
  std::string key = logs::group_key(group_name(body));
  auto* store = logs_;
  auto write = [store, key, days]() -> int {
    if (!store->group_exists(key)) return 0;
    return store->set_retention(key, days) ? 1 : -1;
  };
  int done = co_await util::offload(pool_.get_executor(), std::move(write));
  if (done == 0) co_return json11_error(call, "ResourceNotFoundException", "The specified log group does not exist.");
  if (done < 0) co_return json11_error(call, "ServiceUnavailableException", "the retention could not be written", 503);
  co_return json11(call, 200, json::object());
}

asio::awaitable<void> ControlPlane::expire_logs(std::chrono::minutes every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    if (logs_) {
      auto* store = logs_;
      auto open = store->open_streams();
      int fallback = cfg_.log_retention_days;
      auto sweep = [store, open, fallback] { return store->expire(fallback, open, std::chrono::system_clock::now()); };
      auto removed = co_await util::offload(pool_.get_executor(), std::move(sweep));
      if (removed) spdlog::info("logs: {} stream(s) past their group's retention deleted", removed);
    }
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace lambdad::api
