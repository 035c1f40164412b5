#include "delivery.hpp"

#include "auth/sigv4.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

namespace lambdad::events {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using nlohmann::json;

namespace {

std::vector<std::string> arn_parts(std::string const& arn) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {  // arn:partition:service:region:account:resource (the resource may hold colons)
    auto colon = arn.find(':', start);
    if (colon == std::string::npos) return {};
    out.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  out.push_back(arn.substr(start));
  return out;
}

// The query protocol's form body, botocore's percent-encoding (unreserved kept).
std::string form(std::vector<std::pair<std::string, std::string>> const& fields) {
  std::string out;
  for (auto const& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += boost::urls::encode(k, boost::urls::unreserved_chars);
    out += '=';
    out += boost::urls::encode(v, boost::urls::unreserved_chars);
  }
  return out;
}

ServiceRequest query_request(std::vector<std::string> const& arn, std::vector<std::pair<std::string, std::string>> fields) {
  return ServiceRequest{arn[2], arn[3], "application/x-www-form-urlencoded; charset=utf-8", {}, form(fields)};
}

std::string queue_url(std::vector<std::string> const& p, DeliveryConfig const& cfg) {
  std::string base = cfg.endpoint_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + p[4] + "/" + p[5];
}

// The message attributes of a dead letter, in SendMessage's or Publish's form.
void attributes(std::vector<std::pair<std::string, std::string>>& f, std::string const& prefix,
                std::vector<std::array<std::string, 3>> const& attrs) {
  int i = 0;
  for (auto const& [name, type, value] : attrs) {
    std::string at = prefix + std::to_string(++i) + ".";
    f.emplace_back(at + "Name", name);
    f.emplace_back(at + "Value.DataType", type);
    f.emplace_back(at + "Value.StringValue", value);
  }
}

}  // namespace

std::string arn_service(std::string const& arn) {
  auto p = arn_parts(arn);
  return p.size() == 6 && p[0] == "arn" ? p[2] : "";
}

bool deliverable(std::string const& arn) {
  auto s = arn_service(arn);
  return s == "sqs" || s == "sns" || s == "events";
}

std::optional<ServiceRequest> destination_request(std::string const& arn, std::string const& record, bool success,
                                                  std::string const& function_arn, DeliveryConfig const& cfg) {
  auto p = arn_parts(arn);
  if (p.size() != 6) return std::nullopt;
  if (p[2] == "sqs")
    return query_request(p, {{"Action", "SendMessage"}, {"Version", "2012-11-05"},
                                 {"QueueUrl", queue_url(p, cfg)}, {"MessageBody", record}});
  if (p[2] == "sns")
    return query_request(p, {{"Action", "Publish"}, {"Version", "2010-03-31"}, {"TopicArn", arn},
                                 {"Message", record}});
  if (p[2] != "events") return std::nullopt;
  json entry{{"Source", "lambda"},
             {"DetailType", success ? "Lambda Function Invocation Result - Success"
                                    : "Lambda Function Invocation Result - Failure"},
             {"Detail", record},
             {"EventBusName", arn},
             {"Resources", json::array({arn, function_arn})}};
  return ServiceRequest{"events", p[3], "application/x-amz-json-1.1", {{"X-Amz-Target", "AWSEvents.PutEvents"}},
                        json{{"Entries", json::array({entry})}}.dump()};
}

std::optional<ServiceRequest> dead_letter_request(std::string const& arn, std::string const& payload,
                                                  std::string const& request_id, std::string const& error_message,
                                                  DeliveryConfig const& cfg) {
  auto p = arn_parts(arn);
  if (p.size() != 6) return std::nullopt;
  std::vector<std::array<std::string, 3>> attrs = {
      {"RequestID", "String", request_id}, {"ErrorCode", "Number", "200"}, {"ErrorMessage", "String", error_message}};
  std::vector<std::pair<std::string, std::string>> f;
  if (p[2] == "sqs") {
    f = {{"Action", "SendMessage"}, {"Version", "2012-11-05"}, {"QueueUrl", queue_url(p, cfg)}, {"MessageBody", payload}};
    attributes(f, "MessageAttribute.", attrs);
    return query_request(p, std::move(f));
  }
  if (p[2] == "sns") {
    f = {{"Action", "Publish"}, {"Version", "2010-03-31"}, {"TopicArn", arn}, {"Message", payload}};
    attributes(f, "MessageAttributes.entry.", attrs);
    return query_request(p, std::move(f));
  }
  return std::nullopt;
}

std::optional<std::string> check_endpoint(std::string const& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return "not a URL: `" + url + "`";
  if (u->scheme() != "http") return "`" + url + "`: only http:// endpoints are supported (lambdad has no TLS client)";
  if (u->host().empty()) return "`" + url + "`: no host";
  return std::nullopt;
}

asio::awaitable<std::optional<std::string>> send(ServiceRequest req, DeliveryConfig cfg) {
  if (auto bad = check_endpoint(cfg.endpoint_url)) co_return *bad;
  auto u = *boost::urls::parse_uri(cfg.endpoint_url);
  std::string host = u.host(), port = u.has_port() ? std::string(u.port()) : "80";
  auth::SignedRequest signed_req{"POST", "/", {}, req.body};
  signed_req.headers.emplace_back("Host", u.has_port() ? host + ":" + port : host);
  signed_req.headers.emplace_back("Content-Type", req.content_type);
  for (auto const& h : req.headers) signed_req.headers.push_back(h);
  auth::sign(signed_req, cfg.access_key_id, cfg.secret_access_key, req.region.empty() ? cfg.region : req.region, req.service,
             std::chrono::system_clock::now());
  bhttp::request<bhttp::string_body> out{bhttp::verb::post, "/", 11};
  for (auto const& [k, v] : signed_req.headers) out.set(k, v);
  out.body() = req.body;
  out.prepare_payload();
  try {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(ex);
    auto found = co_await resolver.async_resolve(host, port, asio::use_awaitable);
    beast::tcp_stream stream(ex);
    stream.expires_after(std::chrono::seconds(10));
    co_await stream.async_connect(found, asio::use_awaitable);
    co_await bhttp::async_write(stream, out, asio::use_awaitable);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    if (res.result_int() / 100 != 2)
      co_return req.service + " answered " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 300);
    if (req.service == "events") {
      auto j = json::parse(res.body(), nullptr, false);
      if (!j.is_object() || !j.contains("FailedEntryCount") || !j["FailedEntryCount"].is_number() ||
          j["FailedEntryCount"].get<double>() != 0)
        co_return "events: the entry was not put: " + res.body().substr(0, 300);
    }
  } catch (boost::system::system_error const& e) {
    co_return cfg.endpoint_url + ": " + e.code().message();
  }
  co_return std::nullopt;
}

}  // namespace lambdad::events
