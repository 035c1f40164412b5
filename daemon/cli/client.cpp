#include "client.hpp"

#include "../auth/sigv4.hpp"
#include "util/crypto.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace lambdad::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;

namespace {

struct Target {
  std::string host;
  std::string port;
  std::string base;  // the URL as given, for messages
};

// Fails with a message naming the problem.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Target parse_endpoint(std::string const& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty())
    throw CliError("--endpoint `" + url + "`: expected http://HOST:PORT");
  return Target{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80", url};
}

beast::tcp_stream connect(asio::io_context& ioc, Target const& t) {
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto found = resolver.resolve(t.host, t.port, ec);
  if (!ec) stream.connect(found, ec);
  if (ec) throw CliError("cannot reach lambdad at " + t.base + ": " + ec.message());
  return stream;
}

// An API error as the AWS CLI words it.
std::string api_error(bhttp::response<bhttp::string_body> const& res, std::string const& operation) {
  std::string type(res["x-amzn-ErrorType"]);
  if (auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  std::string message = res.body();
  if (auto j = nlohmann::json::parse(res.body(), nullptr, false); j.is_object()) {
    for (char const* k : {"message", "Message"})
      if (j.contains(k) && j[k].is_string()) message = j[k].get<std::string>();
  }
  if (type.empty()) type = "HTTP " + std::to_string(res.result_int());
  return "An error occurred (" + type + ") when calling the " + operation + " operation: " + message;
}

// Signs the request (SigV4, service lambda) when the environment holds
// credentials, as the AWS CLI would: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION or AWS_DEFAULT_REGION (default us-east-1). A daemon without
// `auth = sigv4` ignores the signature.
void sign_if_configured(bhttp::request<bhttp::string_body>& req) {
  char const* id = std::getenv("AWS_ACCESS_KEY_ID");
  char const* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (!id || !secret || !*id || !*secret) return;
  char const* region = std::getenv("AWS_REGION");
  if (!region || !*region) region = std::getenv("AWS_DEFAULT_REGION");
  if (!region || !*region) region = "us-east-1";
  auth::SignedRequest s;
  s.method = std::string(req.method_string());
  s.target = std::string(req.target());
  for (auto const& field : req) s.headers.emplace_back(field.name_string(), field.value());
  s.body = req.body();
  auth::sign(s, id, secret, region, "lambda", std::chrono::system_clock::now());
  for (auto const& [name, value] : s.headers)
    if (name == "X-Amz-Date" || name == "Authorization") req.set(name, value);
}

std::string read_event(std::string const& path) {
  if (path.empty()) return "{}";
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError("--event " + path + ": cannot read it");
    text << in.rdbuf();
  }
  return text.str();
}

std::string pretty(std::string const& body) {
  auto j = nlohmann::ordered_json::parse(body, nullptr, false);
  if (j.is_discarded()) return body;
  return j.dump(2);
}

// One request and its whole answer, signed when the environment holds keys.
bhttp::response<bhttp::string_body> exchange(Target const& t, bhttp::verb method, std::string const& target,
                                             std::string body,
                                             std::vector<std::pair<std::string, std::string>> const& headers = {}) {
  asio::io_context ioc;
  auto stream = connect(ioc, t);
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, t.host + ":" + t.port);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  for (auto const& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  sign_if_configured(req);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 20);
  bhttp::read(stream, buffer, parser);
  return parser.release();
}

// A saved test event's JSON (GET /_lambdad/test-events/FUNCTION/NAME).
std::string saved_event(Target const& t, std::string const& function, std::string const& name) {
  auto res = exchange(t, bhttp::verb::get, "/_lambdad/test-events/" + function + "/" + name, "");
  if (res.result_int() != 200) throw CliError(api_error(res, "GetTestEvent"));
  return res.body();
}

int invoke_impl(std::string const& endpoint, std::string const& name, std::string const& event_path,
                std::string const& test_event) {
  auto t = parse_endpoint(endpoint);
  if (!test_event.empty() && !event_path.empty()) throw CliError("give --event or --test-event, not both");
  std::string event = test_event.empty() ? read_event(event_path) : saved_event(t, name, test_event);
  auto res = exchange(t, bhttp::verb::post, "/2015-03-31/functions/" + name + "/invocations", std::move(event),
                      {{"X-Amz-Invocation-Type", "RequestResponse"}, {"X-Amz-Log-Type", "Tail"}});
  if (res.result_int() >= 300) {
    std::cerr << api_error(res, "Invoke") << "\n";
    return 2;
  }
  std::string log;
  if (auto decoded = util::base64_decode(std::string(res["X-Amz-Log-Result"]))) log = *decoded;
  std::cout << "Response\n" << pretty(res.body()) << "\n\nFunction Logs\n" << log;
  if (!log.empty() && log.back() != '\n') std::cout << "\n";
  std::cout << "\nRequest ID\n" << res["x-amzn-RequestId"] << "\n";
  return res.count("X-Amz-Function-Error") ? 1 : 0;
}

int logs_impl(std::string const& endpoint, std::string const& name, bool follow) {
  auto t = parse_endpoint(endpoint);
  asio::io_context ioc;
  auto stream = connect(ioc, t);
  std::string target = "/_lambdad/logs/" + name + (follow ? "?follow=true" : "");
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, t.host + ":" + t.port);
  sign_if_configured(req);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  bhttp::read_header(stream, buffer, parser);
  if (parser.get().result_int() >= 300) {
    // Errors are small JSON bodies: read the rest as a string.
    bhttp::response_parser<bhttp::string_body> rest(std::move(parser));
    bhttp::read(stream, buffer, rest);
    std::cerr << api_error(rest.get(), "GetLogs") << "\n";
    return 2;
  }
  // Write each piece as it arrives: a follow never ends on its own.
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    boost::system::error_code ec;
    bhttp::read_some(stream, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    std::cout.write(chunk, static_cast<std::streamsize>(sizeof chunk - parser.get().body().size));
    std::cout.flush();
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) break;
    if (ec) throw CliError("reading the log from " + t.base + ": " + ec.message());
  }
  return 0;
}

// The Code object of a deploy: a host directory to hot-reload, or a zip.
nlohmann::json deploy_code(Deploy const& d) {
  if (!d.hot_reload.empty()) {
    std::error_code ec;
    auto dir = std::filesystem::absolute(d.hot_reload, ec);
    return {{"S3Bucket", "hot-reload"}, {"S3Key", (ec ? std::filesystem::path(d.hot_reload) : dir).string()}};
  }
  std::ifstream in(d.zip, std::ios::binary);
  if (!in) throw CliError("--zip " + d.zip + ": cannot read it");
  std::string zip((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {{"ZipFile", util::base64_encode(zip)}};
}

int deploy_impl(std::string const& endpoint, Deploy const& d) {
  if (d.hot_reload.empty() == d.zip.empty()) throw CliError("give one of --hot-reload DIR and --zip FILE");
  auto t = parse_endpoint(endpoint);
  auto code = deploy_code(d);
  std::string path = "/2015-03-31/functions/" + d.name;
  auto found = exchange(t, bhttp::verb::get, path, "");
  bool exists = found.result_int() == 200;
  bhttp::response<bhttp::string_body> res;
  if (exists) {
    res = exchange(t, bhttp::verb::put, path + "/code", code.dump());
  } else {
    nlohmann::json body = {{"FunctionName", d.name}, {"Runtime", d.runtime}, {"Handler", d.handler},
                           {"Role", d.role},         {"Code", code},         {"Timeout", d.timeout}};
    if (!d.layers.empty()) body["Layers"] = d.layers;
    res = exchange(t, bhttp::verb::post, "/2015-03-31/functions", body.dump());
  }
  if (res.result_int() >= 300) {
    std::cerr << api_error(res, exists ? "UpdateFunctionCode" : "CreateFunction") << "\n";
    return 2;
  }
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  std::cout << (exists ? "updated " : "created ") << d.name << " ("
            << (j.is_object() ? j.value("CodeSha256", std::string()) : std::string()) << ")\n";
  return 0;
}

int test_event_impl(std::string const& endpoint, TestEventCommand const& c) {
  auto t = parse_endpoint(endpoint);
  std::string base = "/_lambdad/test-events/" + c.function;
  bhttp::response<bhttp::string_body> res;
  if (c.action == "save") {
    res = exchange(t, bhttp::verb::put, base + "/" + c.name, read_event(c.event_path));
  } else if (c.action == "delete") {
    res = exchange(t, bhttp::verb::delete_, base + "/" + c.name, "");
  } else if (c.action == "show") {
    std::cout << pretty(saved_event(t, c.function, c.name)) << "\n";
    return 0;
  } else {
    res = exchange(t, bhttp::verb::get, base, "");
  }
  if (res.result_int() >= 300) {
    std::cerr << api_error(res, c.action == "save" ? "PutTestEvent" : c.action == "delete" ? "DeleteTestEvent"
                                                                                           : "ListTestEvents")
              << "\n";
    return 2;
  }
  if (c.action == "save") std::cout << "saved " << c.function << "/" << c.name << "\n";
  if (c.action == "delete") std::cout << "deleted " << c.function << "/" << c.name << "\n";
  if (c.action == "list") {
    auto j = nlohmann::json::parse(res.body(), nullptr, false);
    if (j.is_object() && j.contains("TestEvents"))
      for (auto const& e : j["TestEvents"]) std::cout << e.value("Name", std::string()) << "\n";
  }
  return 0;
}

template <class F>
int guarded(char const* command, F&& f) {
  try {
    return f();
  } catch (std::exception const& e) {
    std::cerr << "lambdad " << command << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int invoke(std::string const& endpoint, std::string const& name, std::string const& event_path,
           std::string const& test_event) {
  return guarded("invoke", [&] { return invoke_impl(endpoint, name, event_path, test_event); });
}

int test_event(std::string const& endpoint, TestEventCommand const& c) {
  return guarded("test-event", [&] { return test_event_impl(endpoint, c); });
}

int logs(std::string const& endpoint, std::string const& name, bool follow) {
  return guarded("logs", [&] { return logs_impl(endpoint, name, follow); });
}

int deploy(std::string const& endpoint, Deploy const& d) {
  return guarded("deploy", [&] { return deploy_impl(endpoint, d); });
}

}  // namespace lambdad::cli
