// Function URL configs: CreateFunctionUrlConfig, GetFunctionUrlConfig,
// UpdateFunctionUrlConfig, DeleteFunctionUrlConfig, ListFunctionUrlConfigs
// (API 2021-10-31). Shapes and words: botocore's model and LocalStack's
// AWS-recorded test_lambda_url snapshots. The URL itself is served by
// url_invoke.cpp.
#include "control_plane.hpp"
#include "upload.hpp"

#include "util/clock.hpp"
#include "util/crypto.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// FunctionUrlQualifier: an alias name, never a version or $LATEST.
std::optional<ApiError> check_url_qualifier(std::optional<std::string> const& q) {
  if (!q) return std::nullopt;
  bool ok = !q->empty() && q->size() <= 128 &&
            std::all_of(q->begin(), q->end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; }) &&
            !std::all_of(q->begin(), q->end(), [](unsigned char c) { return std::isdigit(c); });
  if (ok) return std::nullopt;
  return model::validation(*q, "qualifier",
                           "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)");
}

std::optional<ApiError> check_auth_type(json const& body, bool required) {
  if (!body.contains("AuthType") || body["AuthType"].is_null()) {
    if (required) return model::validation("null", "authType", "Member must not be null");
    return std::nullopt;
  }
  auto const& a = body["AuthType"];
  if (!a.is_string() || (a != "NONE" && a != "AWS_IAM"))
    return model::validation(a.is_string() ? a.get<std::string>() : a.dump(), "authType",
                             "Member must satisfy enum value set: [AWS_IAM, NONE]");
  return std::nullopt;
}

std::optional<ApiError> check_cors(json const& cors) {
  if (!cors.is_object()) return model::invalid_parameter("Cors must be an object");
  for (auto const* key : {"AllowHeaders", "AllowMethods", "AllowOrigins", "ExposeHeaders"}) {
    if (!cors.contains(key)) continue;
    auto const& list = cors[key];
    if (!list.is_array() || list.size() > 100 ||
        !std::all_of(list.begin(), list.end(), [](json const& v) { return v.is_string(); }))
      return model::invalid_parameter(std::string("Cors.") + key + " must be a list of at most 100 strings");
  }
  if (cors.contains("MaxAge") && (!cors["MaxAge"].is_number_integer() || cors["MaxAge"].get<long>() < 0 ||
                                  cors["MaxAge"].get<long>() > 86400))
    return model::validation(cors["MaxAge"].dump(), "cors.maxAge",
                             "Member must have value less than or equal to 86400");
  if (cors.contains("AllowCredentials") && !cors["AllowCredentials"].is_boolean())
    return model::invalid_parameter("Cors.AllowCredentials must be a boolean");
  return std::nullopt;
}

std::optional<ApiError> check_invoke_mode(json const& body) {
  if (!body.contains("InvokeMode") || body["InvokeMode"].is_null()) return std::nullopt;
  auto const& m = body["InvokeMode"];
  if (!m.is_string() || (m != "BUFFERED" && m != "RESPONSE_STREAM"))
    return model::validation(m.is_string() ? m.get<std::string>() : m.dump(), "invokeMode",
                             "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]");
  return std::nullopt;
}

// A Create (AuthType required) or Update body's fields.
std::optional<ApiError> check_url_body(json const& body, bool create) {
  if (auto e = check_auth_type(body, create)) return e;
  if (body.contains("Cors"))
    if (auto e = check_cors(body["Cors"])) return e;
  return check_invoke_mode(body);
}

// Applies the fields a Create or Update body sets.
void apply_url_fields(json const& body, model::UrlConfigRecord& u) {
  if (body.contains("AuthType") && body["AuthType"].is_string()) u.auth_type = body["AuthType"];
  if (body.contains("Cors") && body["Cors"].is_object()) u.cors = body["Cors"];
  if (body.contains("InvokeMode") && body["InvokeMode"].is_string()) u.invoke_mode = body["InvokeMode"];
}

}  // namespace

std::string ControlPlane::function_url(Call const& call, std::string const& url_id) const {
  // The daemon's own port, as the caller reached it: browsers and curl
  // resolve *.localhost to loopback themselves.
  std::string host(call.req[bhttp::field::host]);
  auto colon = host.rfind(':');
  std::string port = colon == std::string::npos || host.back() == ']' ? "" : host.substr(colon);
  return "http://" + url_id + ".lambda-url." + cfg_.identity.region + ".localhost" + port + "/";
}

json ControlPlane::url_config_json(Call const& call, std::string const& function, model::UrlConfigRecord const& u,
                                   bool with_modified) const {
  json j = {{"FunctionUrl", function_url(call, u.url_id)},
            {"FunctionArn", functions_.arn(function, u.qualifier)},
            {"AuthType", u.auth_type},
            {"CreationTime", u.creation_time}};
  if (u.cors) j["Cors"] = *u.cors;
  if (with_modified) {
    j["LastModifiedTime"] = u.last_modified;
    j["InvokeMode"] = u.invoke_mode.value_or("BUFFERED");
  } else if (u.invoke_mode) {
    j["InvokeMode"] = *u.invoke_mode;
  }
  return j;
}

// The function and qualifier a URL config call names, or AWS's 404.
model::ApiResult<registry::Target> ControlPlane::url_target(Call const& call) const {
  auto q = qualifier_of(call);
  if (auto e = check_url_qualifier(q)) return *e;
  auto target = functions_.resolve(call.param("name"), q);
  if (!target) return model::not_found("Function does not exist");
  if (!target->qualifier.empty() && !target->alias) return *check_url_qualifier(target->qualifier);
  return target;
}

asio::awaitable<Response> ControlPlane::create_url_config(Call call) {
  auto target = url_target(call);
  if (!target) co_return error_response(call, target.error());
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (auto e = check_url_body(body, true)) co_return error_response(call, *e);
  std::string name = target->name;
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  if (state.urls.count(target->qualifier))
    co_return error_response(call, model::conflict("Failed to create function url config for [functionArn = " +
                                                   functions_.arn(name, target->qualifier) +
                                                   "]. Error message:  FunctionUrlConfig exists for this Lambda "
                                                   "function"));
  model::UrlConfigRecord u;
  u.qualifier = target->qualifier;
  u.url_id = functions_.new_url_id();
  apply_url_fields(body, u);
  u.creation_time = util::aws_timestamp_now();
  u.last_modified = u.creation_time;
  state.urls[u.qualifier] = u;
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  spdlog::info("function {}: URL {}", functions_.arn(name, u.qualifier), function_url(call, u.url_id));
  co_return json_response(call, 201, url_config_json(call, name, u, false));
}

asio::awaitable<Response> ControlPlane::get_url_config(Call call) {
  auto target = url_target(call);
  if (!target) co_return error_response(call, target.error());
  auto const& state = *functions_.find(target->name);
  auto u = state.urls.find(target->qualifier);
  if (u == state.urls.end())
    co_return error_response(call, model::not_found("The resource you requested does not exist."));
  co_return json_response(call, 200, url_config_json(call, target->name, u->second, true));
}

asio::awaitable<Response> ControlPlane::update_url_config(Call call) {
  auto target = url_target(call);
  if (!target) co_return error_response(call, target.error());
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (auto e = check_url_body(body, false)) co_return error_response(call, *e);
  std::string name = target->name;
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  auto u = state.urls.find(target->qualifier);
  if (u == state.urls.end())
    co_return error_response(call, model::not_found("The resource you requested does not exist."));
  apply_url_fields(body, u->second);
  u->second.last_modified = util::aws_timestamp_now();
  auto updated = u->second;
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return json_response(call, 200, url_config_json(call, name, updated, true));
}

asio::awaitable<Response> ControlPlane::delete_url_config(Call call) {
  auto target = url_target(call);
  if (!target) co_return error_response(call, target.error());
  std::string name = target->name;
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  if (!state.urls.erase(target->qualifier))
    co_return error_response(call, model::not_found("The resource you requested does not exist."));
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::list_url_configs(Call call) {
  auto target = functions_.resolve(call.param("name"), std::nullopt);
  if (!target) co_return error_response(call, model::not_found("Function does not exist"));
  json list = json::array();
  for (auto const& [q, u] : functions_.find(target->name)->urls)
    list.push_back(url_config_json(call, target->name, u, true));
  co_return json_response(call, 200, json{{"FunctionUrlConfigs", list}});
}

}  // namespace lambdad::api
