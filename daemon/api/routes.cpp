// The route table of the control plane: method + path pattern -> handler,
// with each operation's name, body limit and signature requirement. Paths
// follow botocore's Lambda and STS service models.
#include "routes.hpp"

#include "util/clock.hpp"

#include <boost/url/parse.hpp>

namespace lambdad::api {

namespace asio = boost::asio;
using boost::beast::http::verb;
using CP = ControlPlane;

std::vector<Route> const& ControlPlane::routes() {
  static std::vector<Route> const table = {
      {verb::post, "/", "GetCallerIdentity", &CP::post_root},
      {verb::get, "/", "GetCallerIdentity", &CP::sts},
      {verb::post, "/2015-03-31/functions", "CreateFunction", &CP::create_function},
      {verb::get, "/2015-03-31/functions", "ListFunctions", &CP::list_functions},
      {verb::get, "/2015-03-31/functions/{name}", "GetFunction", &CP::get_function},
      {verb::delete_, "/2015-03-31/functions/{name}", "DeleteFunction", &CP::delete_function},
      {verb::get, "/2015-03-31/functions/{name}/configuration", "GetFunctionConfiguration",
       &CP::get_function_configuration},
      {verb::put, "/2015-03-31/functions/{name}/configuration", "UpdateFunctionConfiguration",
       &CP::update_function_configuration},
      {verb::put, "/2015-03-31/functions/{name}/code", "UpdateFunctionCode", &CP::update_function_code},
      {verb::post, "/2015-03-31/functions/{name}/invocations", "InvokeFunction", &CP::invoke, BodyLimit::invoke},
      {verb::post, "/2021-11-15/functions/{name}/response-streaming-invocations", "InvokeWithResponseStream",
       &CP::invoke_with_response_stream, BodyLimit::invoke},
      {verb::post, "/2015-03-31/functions/{name}/versions", "PublishVersion", &CP::publish_version},
      {verb::get, "/2015-03-31/functions/{name}/versions", "ListVersionsByFunction", &CP::list_versions},
      {verb::post, "/2015-03-31/functions/{name}/aliases", "CreateAlias", &CP::create_alias},
      {verb::get, "/2015-03-31/functions/{name}/aliases", "ListAliases", &CP::list_aliases},
      {verb::get, "/2015-03-31/functions/{name}/aliases/{alias}", "GetAlias", &CP::get_alias},
      {verb::put, "/2015-03-31/functions/{name}/aliases/{alias}", "UpdateAlias", &CP::update_alias},
      {verb::delete_, "/2015-03-31/functions/{name}/aliases/{alias}", "DeleteAlias", &CP::delete_alias},
      {verb::post, "/2015-03-31/functions/{name}/policy", "AddPermission", &CP::add_permission},
      {verb::get, "/2015-03-31/functions/{name}/policy", "GetPolicy", &CP::get_policy},
      {verb::delete_, "/2015-03-31/functions/{name}/policy/{sid}", "RemovePermission", &CP::remove_permission},
      {verb::post, "/2017-03-31/tags/{arn}", "TagResource", &CP::tag_resource},
      {verb::get, "/2017-03-31/tags/{arn}", "ListTags", &CP::list_tags},
      {verb::delete_, "/2017-03-31/tags/{arn}", "UntagResource", &CP::untag_resource},
      {verb::put, "/2017-10-31/functions/{name}/concurrency", "PutFunctionConcurrency", &CP::put_function_concurrency},
      {verb::delete_, "/2017-10-31/functions/{name}/concurrency", "DeleteFunctionConcurrency",
       &CP::delete_function_concurrency},
      {verb::get, "/2019-09-30/functions/{name}/concurrency", "GetFunctionConcurrency", &CP::get_function_concurrency},
      {verb::get, "/2017-10-31/functions/{name}/concurrency", "GetFunctionConcurrency", &CP::get_function_concurrency},
      {verb::post, "/2021-10-31/functions/{name}/url", "CreateFunctionUrlConfig", &CP::create_url_config},
      {verb::get, "/2021-10-31/functions/{name}/url", "GetFunctionUrlConfig", &CP::get_url_config},
      {verb::put, "/2021-10-31/functions/{name}/url", "UpdateFunctionUrlConfig", &CP::update_url_config},
      {verb::delete_, "/2021-10-31/functions/{name}/url", "DeleteFunctionUrlConfig", &CP::delete_url_config},
      {verb::get, "/2021-10-31/functions/{name}/urls", "ListFunctionUrlConfigs", &CP::list_url_configs},
      {verb::put, "/2019-09-25/functions/{name}/event-invoke-config", "PutFunctionEventInvokeConfig",
       &CP::put_event_config},
      {verb::post, "/2019-09-25/functions/{name}/event-invoke-config", "UpdateFunctionEventInvokeConfig",
       &CP::update_event_config},
      {verb::get, "/2019-09-25/functions/{name}/event-invoke-config", "GetFunctionEventInvokeConfig",
       &CP::get_event_config},
      {verb::delete_, "/2019-09-25/functions/{name}/event-invoke-config", "DeleteFunctionEventInvokeConfig",
       &CP::delete_event_config},
      {verb::get, "/2019-09-25/functions/{name}/event-invoke-config/list", "ListFunctionEventInvokeConfigs",
       &CP::list_event_configs},
      {verb::get, "/2016-08-19/account-settings", "GetAccountSettings", &CP::get_account_settings},
      {verb::post, "/2018-10-31/layers/{layer}/versions", "PublishLayerVersion", &CP::publish_layer_version},
      {verb::get, "/2018-10-31/layers/{layer}/versions", "ListLayerVersions", &CP::list_layer_versions},
      {verb::get, "/2018-10-31/layers/{layer}/versions/{version}", "GetLayerVersion", &CP::get_layer_version},
      {verb::delete_, "/2018-10-31/layers/{layer}/versions/{version}", "DeleteLayerVersion",
       &CP::delete_layer_version},
      // ListLayers, and GetLayerVersionByArn (?find=LayerVersion&Arn=...).
      {verb::get, "/2018-10-31/layers", "ListLayers", &CP::list_layers},
      // lambdad's own. Code archives are named by their SHA-256, which only an
      // authenticated GetFunction hands out.
      {verb::get, "/_lambdad/code/{file}", "GetCode", &CP::get_code, BodyLimit::request, false},
      {verb::get, "/_lambdad/logs/{name}", "GetLogs", &CP::get_logs},
      {verb::post, "/_lambdad/reset", "Reset", &CP::reset},
      {verb::get, "/_lambdad/invocations", "ListInvocations", &CP::invocations},
      {verb::get, "/_lambdad/events", "ListEvents", &CP::list_events},
      {verb::get, "/_lambdad/test-events/{name}", "ListTestEvents", &CP::list_test_events},
      {verb::get, "/_lambdad/test-events/{name}/{event}", "GetTestEvent", &CP::get_test_event},
      {verb::put, "/_lambdad/test-events/{name}/{event}", "PutTestEvent", &CP::put_test_event},
      {verb::delete_, "/_lambdad/test-events/{name}/{event}", "DeleteTestEvent", &CP::delete_test_event},
      {verb::get, "/metrics", "Metrics", &CP::metrics, BodyLimit::request, false},
      {verb::get, "/healthz", "Health", &CP::healthz, BodyLimit::request, false},
  };
  return table;
}

std::optional<std::map<std::string, std::string>> match_pattern(std::string_view pattern,
                                                                std::vector<std::string> const& segs) {
  std::size_t n = segs.size();
  if (n > 0 && segs.back().empty()) --n;  // "/2015-03-31/functions/" and "/"
  std::map<std::string, std::string> params;
  std::size_t i = 0;
  std::string_view rest = pattern.substr(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (i >= n) return std::nullopt;
    if (part.size() > 2 && part.front() == '{' && part.back() == '}')
      params[std::string(part.substr(1, part.size() - 2))] = segs[i];
    else if (part != segs[i])
      return std::nullopt;
    ++i;
  }
  if (i != n) return std::nullopt;
  return params;
}

namespace {

std::vector<std::string> segments_of(std::string_view target) {
  std::vector<std::string> segs;
  auto url = boost::urls::parse_origin_form(target);
  if (url)
    for (auto seg : url->segments()) segs.push_back(seg);
  return segs;
}

}  // namespace

Route const* ControlPlane::route_of(http::RequestHeader const& h) const {
  auto segs = segments_of(h.target());
  for (auto const& r : routes())
    if (r.method == h.method() && match_pattern(r.pattern, segs)) return &r;
  return nullptr;
}

std::uint64_t ControlPlane::body_limit(http::RequestHeader const& h) const {
  // Invoke payloads: 6 MB; a larger one is refused before it is read.
  if (url_hit(h)) return cfg_.max_payload_bytes;
  auto r = route_of(h);
  if (r && r->limit == BodyLimit::invoke) return std::max(cfg_.max_payload_bytes, cfg_.max_event_payload_bytes);
  return cfg_.max_request_bytes;
}

Response ControlPlane::too_large(http::RequestHeader const& h) const {
  if (url_hit(h)) {
    // A function URL's own words for it are not recorded anywhere we could
    // find: 413 with a JSON Message, as its other refusals.
    Response res{boost::beast::http::status::payload_too_large, h.version()};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.set("x-amzn-RequestId", util::uuid4());
    res.set("x-amzn-ErrorType", "RequestEntityTooLargeException");
    res.body() = json{{"Message", "Request must be smaller than " + std::to_string(cfg_.max_payload_bytes) +
                                      " bytes for the InvokeFunctionUrl operation"}}.dump();
    return res;
  }
  auto r = route_of(h);
  std::uint64_t limit = body_limit(h);
  std::string op = r ? std::string(r->operation) : "CreateFunction";
  ApiError err{413, "RequestEntityTooLargeException",
               "Request must be smaller than " + std::to_string(limit) + " bytes for the " + op + " operation", {}};
  return error_response(h.version(), util::uuid4(), err);
}

asio::awaitable<Response> ControlPlane::route(Call call) {
  for (auto const& r : routes()) {
    if (r.method != call.req.method()) continue;
    auto params = match_pattern(r.pattern, call.segs);
    if (!params) continue;
    call.params = std::move(*params);
    co_return co_await (this->*r.handler)(std::move(call));
  }
  co_return error_response(call, {404, "UnknownOperationException", "Unknown operation " +
                               std::string(call.req.method_string()) + " " + std::string(call.req.target()), {}});
}

// One dispatcher by protocol on POST /: awsJson1.1 names its service and
// operation in X-Amz-Target (CloudWatch Logs: Logs_20140328.<Op>); STS's
// query protocol has none.
boost::asio::awaitable<Response> ControlPlane::post_root(Call call) {
  std::string target(call.req["X-Amz-Target"]);
  if (target.rfind("Logs_20140328.", 0) == 0) co_return co_await cloudwatch_logs(std::move(call));
  co_return co_await sts(std::move(call));
}

}  // namespace lambdad::api
