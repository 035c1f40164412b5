// Serving function URLs on the daemon's own port: by host
// (http://<url-id>.lambda-url.<region>.localhost:<port>/...) or by path
// (/_lambdad/urls/<url-id>/...). CORS preflight from the config, then auth
// (AWS "Control access to Lambda function URLs": a policy statement for
// NONE, a SigV4 signature for AWS_IAM), then a RequestResponse invoke of the
// payload format 2.0 event and the response inferred from its answer
// (daemon/urls/, pure).
#include "control_plane.hpp"

#include "../registry/policy.hpp"
#include "../urls/cors.hpp"
#include "../urls/event.hpp"
#include "util/clock.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kPathPrefix = "/_lambdad/urls/";

bool valid_url_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::islower(c) || std::isdigit(c);
         });
}

Response plain(unsigned version, unsigned status, std::string const& request_id) {
  Response res{static_cast<bhttp::status>(status), version};
  res.set("x-amzn-RequestId", request_id);
  return res;
}

// 403 as a function URL answers it (AWS-recorded: x-amzn-ErrorType and a
// JSON Message; null for a URL that does not exist).
Response forbidden(unsigned version, std::string const& request_id, json message) {
  Response res = plain(version, 403, request_id);
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-amzn-ErrorType", "AccessDeniedException");
  res.body() = json{{"Message", std::move(message)}}.dump();
  return res;
}

constexpr char const* kForbidden =
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html";

urls::HttpRequest plain_request(Request const& req, std::string target, http::Peer const& peer) {
  urls::HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::move(target);
  for (auto const& f : req) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  out.body = req.body();
  out.source_ip = peer.address;
  out.local_port = peer.local_port;
  return out;
}

Response beast_response(urls::HttpResponse const& r, unsigned version, std::string const& request_id) {
  Response res = plain(version, r.status, request_id);
  for (auto const& h : r.headers) res.insert(h.name, h.value);
  res.body() = r.body;
  return res;
}

// The access key of a SigV4 Authorization header, and whether its scope
// names the service `lambda`.
std::pair<std::string, bool> credential_of(std::string_view authorization) {
  auto at = authorization.find("Credential=");
  if (at == std::string_view::npos) return {"", false};
  auto cred = authorization.substr(at + 11);
  cred = cred.substr(0, cred.find_first_of(", "));
  auto slash = cred.find('/');
  std::string key(cred.substr(0, slash));
  return {key, cred.find("/lambda/aws4_request") != std::string_view::npos};
}

}  // namespace

std::optional<UrlHit> ControlPlane::url_hit(http::RequestHeader const& h) const {
  // Host form: the first label is the url-id.
  std::string host = urls::to_lower(std::string_view(h[bhttp::field::host]));
  if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  auto dot = host.find('.');
  if (dot != std::string::npos && host.find(".lambda-url.", dot) == dot && host.ends_with(".localhost"))
    return UrlHit{host.substr(0, dot), std::string(h.target())};
  // Path form: the prefix and the url-id stripped from the path.
  std::string_view t = h.target();
  if (!t.starts_with(kPathPrefix)) return std::nullopt;
  auto rest = t.substr(kPathPrefix.size());
  auto end = rest.find_first_of("/?");
  std::string id(rest.substr(0, end));
  std::string target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
  if (target.front() == '?') target = "/" + target;
  return UrlHit{id, target};
}

// Whether the function's policy lets an anonymous caller through a URL.
bool ControlPlane::url_permitted(std::string const& function, std::string const& qualifier) const {
  if (cfg_.url_permissions == "off") return true;
  auto const* state = functions_.find(function);
  if (!state) return false;
  auto p = state->policies.find(qualifier);
  if (p == state->policies.end()) return false;
  if (!registry::url_allows(p->second, "lambda:InvokeFunctionUrl", "NONE", std::nullopt)) return false;
  return cfg_.url_permissions == "url-only" ||
         registry::url_allows(p->second, "lambda:InvokeFunction", "NONE", std::nullopt);
}

urls::HttpResponse buffered_url_response(exec::InvokeResult const& result) {
  urls::HttpResponse out;
  if (result.throttled) {
    out.status = 429;
    out.headers.push_back({"Content-Type", "application/json"});
    out.body = json{{"Message", "Rate Exceeded."}}.dump();
  } else if (result.refused || result.function_error) {
    out = urls::function_error_response();  // also a timeout or a crash: 502, as AWS
  } else {
    out = urls::from_payload(result.body);
  }
  return out;
}

asio::awaitable<Response> ControlPlane::serve_url(Request req, http::Peer peer, UrlHit hit, http::StreamOut& stream_out) {
  std::string request_id = util::uuid4();
  unsigned version = req.version();
  auto owner = valid_url_id(hit.url_id) ? functions_.url_owner(hit.url_id) : std::nullopt;
  if (!owner) co_return forbidden(version, request_id, nullptr);
  std::string function = owner->name, qualifier = owner->qualifier;
  model::UrlConfigRecord config = *owner->config;  // a copy: the registry may change while this runs
  auto hr = plain_request(req, hit.target, peer);
  std::optional<urls::Cors> cors;
  if (config.cors) cors = urls::cors_from_json(*config.cors);
  if (cors && urls::is_preflight(hr)) co_return beast_response(urls::preflight(*cors, hr), version, request_id);
  urls::UrlContext ctx{hit.url_id, std::string(req[bhttp::field::host]), "anonymous", request_id,
                       std::chrono::system_clock::now(), std::nullopt};
  if (auto colon = ctx.domain_name.rfind(':'); colon != std::string::npos) ctx.domain_name.resize(colon);
  if (ctx.domain_name.empty()) ctx.domain_name = hit.url_id + ".lambda-url." + cfg_.identity.region + ".on.aws";
  if (config.auth_type == "AWS_IAM") {
    // A signature made with a key of this daemon's account: that account's
    // identity, which IAM lets invoke its own functions.
    auto [key, lambda_scope] = credential_of(std::string_view(req[bhttp::field::authorization]));
    auto failure = signature_failure(req);
    if (failure || !lambda_scope)
      co_return forbidden(version, request_id, failure ? failure->message : "Credential should be scoped to correct "
                                                                            "service: 'lambda'.");
    auto const& account = cfg_.identity.account;
    ctx.account_id = account;
    ctx.iam = urls::IamCaller{key, account, key, "arn:aws:iam::" + account + ":root", account};
  } else if (!url_permitted(function, qualifier)) {
    co_return forbidden(version, request_id, kForbidden);
  }
  std::optional<std::string> q;
  if (!qualifier.empty()) q = qualifier;
  auto resolved = functions_.resolve(function, q);
  if (!resolved || !invoker_) co_return forbidden(version, request_id, nullptr);
  auto image = runnable(*resolved);
  if (!image) {
    spdlog::warn("function {}: URL invoke refused: {}", function, image.error().message);
    co_return forbidden(version, request_id, nullptr);
  }
  auto fn = std::move(*image);
  exec::InvokeRequest ir;
  ir.payload = urls::to_event(hr, ctx).dump(-1, ' ', false, json::error_handler_t::replace);
  ir.invocation_type = "RequestResponse";
  if (config.invoke_mode == "RESPONSE_STREAM") {
    UrlInvoke u{std::move(hr), std::move(cors), version, request_id, ctx.time, std::move(fn), std::move(ir)};
    co_return co_await stream_url(std::move(u), stream_out);
  }
  auto result = co_await invoker_->invoke(fn, ir);
  urls::HttpResponse out = buffered_url_response(result);
  if (cors) urls::apply_cors(*cors, hr, out);
  Response res = beast_response(out, version, result.request_id.empty() ? request_id : result.request_id);
  res.set("X-Amzn-Trace-Id", urls::trace_id(request_id, ctx.time));
  spdlog::info("URL {} {} -> {} ({} {})", hit.url_id, hr.method, out.status, functions_.arn(function, qualifier),
               fn.version);
  co_return res;
}

}  // namespace lambdad::api
