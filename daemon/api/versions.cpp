// Versions and aliases: PublishVersion, ListVersionsByFunction, DeleteFunction
// of a version, CreateAlias / GetAlias / UpdateAlias / DeleteAlias /
// ListAliases. AWS's shapes and words as botocore's model and LocalStack's
// AWS-recorded snapshots (test_lambda_api.snapshot.json) show them.
#include "control_plane.hpp"
#include "upload.hpp"

#include "util/clock.hpp"
#include "util/crypto.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

namespace lambdad::api {

namespace asio = boost::asio;

namespace {

bool all_digits(std::string const& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

ApiError revision_mismatch() {
  return ApiError{412, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                  "API to retrieve the latest Revision Id",
                  {}};
}

// Paging of a list by position: Marker is the base64 of the next item's
// index, MaxItems at most 50 a page (as Lambda's lists).
struct Page {
  std::size_t from = 0;
  std::size_t size = 50;
};

model::ApiResult<Page> page_of(Call const& call) {
  Page p;
  if (auto m = call.query.find("MaxItems"); m != call.query.end()) {
    char* end = nullptr;
    long n = std::strtol(m->second.c_str(), &end, 10);
    if (m->second.empty() || *end != '\0' || n < 1 || n > 10000)
      return model::validation(m->second, "maxItems", "Member must have value between 1 and 10000");
    p.size = static_cast<std::size_t>(std::min(n, 50L));
  }
  if (auto m = call.query.find("Marker"); m != call.query.end()) {
    auto text = util::base64_decode(m->second);
    if (!text || !all_digits(*text) || text->size() > 9)
      return model::invalid_parameter("Invalid Marker: " + m->second);
    p.from = static_cast<std::size_t>(std::stoul(*text));
  }
  return p;
}

// `items` paged into {key: [...], NextMarker}.
json paged(json const& items, Page const& p, char const* key) {
  json out = {{key, json::array()}};
  for (std::size_t i = p.from; i < items.size() && i < p.from + p.size; ++i) out[key].push_back(items[i]);
  if (p.from + p.size < items.size()) out["NextMarker"] = util::base64_encode(std::to_string(p.from + p.size));
  return out;
}

std::string weights_text(json const& weights) {
  // As AWS quotes the map in its validation message: {2=2.0}.
  std::ostringstream os;
  os << "{";
  bool first = true;
  for (auto const& [k, v] : weights.items()) {
    os << (first ? "" : ", ") << k << "=" << v.dump();
    first = false;
  }
  os << "}";
  return os.str();
}

}  // namespace

asio::awaitable<Response> ControlPlane::publish_version(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  auto const& latest = state.latest;
  std::string current_sha = latest.code_host_path.empty() ? util::base64_encode(util::from_hex(latest.code_sha256_hex))
                                                          : std::string(reload::kCodeSha256);
  if (body.contains("CodeSha256") && body["CodeSha256"].is_string() && body["CodeSha256"] != current_sha)
    co_return error_response(call, model::invalid_parameter(
        "CodeSHA256 (" + body["CodeSha256"].get<std::string>() + ") is different from current CodeSHA256 in "
        "$LATEST (" + current_sha + "). Please try again with the CodeSHA256 in $LATEST."));
  if (body.contains("RevisionId") && body["RevisionId"].is_string() && body["RevisionId"] != latest.revision_id)
    co_return error_response(call, revision_mismatch());
  std::optional<std::string> description;
  if (body.contains("Description") && body["Description"].is_string()) description = body["Description"];
  int before = state.last_version;
  int n = registry::publish_version(state, description, util::uuid4(), util::aws_timestamp_now());
  if (n > before) {
    auto failed = co_await save_state(state, false);
    if (failed) co_return error_response(call, *failed);
    spdlog::info("function {}: published version {}", name, n);
  }
  auto v = std::to_string(n);
  co_return json_response(call, 201, function_configuration(state.versions.at(n), v, functions_.arn(name, v)));
}

asio::awaitable<Response> ControlPlane::list_versions(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  auto page = page_of(call);
  if (!page) co_return error_response(call, page.error());
  auto const& state = *functions_.find(*resolved);
  json items = json::array();
  // $LATEST first, then the versions in order; without the State fields.
  auto add = [&](model::FunctionRecord const& r, std::string const& v) {
    json c = function_configuration(r, v, functions_.arn(*resolved, v));
    for (auto const* key : {"State", "LastUpdateStatus"}) c.erase(key);
    items.push_back(std::move(c));
  };
  add(state.latest, registry::kLatest);
  for (auto const& [n, v] : state.versions) add(v, std::to_string(n));
  co_return json_response(call, 200, paged(items, *page, "Versions"));
}

asio::awaitable<std::optional<ApiError>> ControlPlane::delete_version(registry::Target target) {
  if (target.alias || !all_digits(target.qualifier))
    co_return model::invalid_parameter("Deletion of aliases is not supported through DeleteFunction; use "
                                       "DeleteAlias.");
  if (functions_.busy(target.name)) co_return update_in_progress(target.name);
  model::FunctionState state = *functions_.find(target.name);
  std::vector<std::string> users;
  for (auto const& [a, alias] : state.aliases)
    if (alias.function_version == target.version || alias.additional_weights.count(target.version)) users.push_back(a);
  if (!users.empty()) {
    std::string list;
    for (auto const& u : users) list += (list.empty() ? "" : ", ") + u;
    co_return model::conflict("Unable to delete version because the following aliases reference it: [" + list + "]");
  }
  state.versions.erase(std::stoi(target.version));
  state.policies.erase(target.version);
  state.event_configs.erase(target.version);
  auto failed = co_await save_state(state, true);
  if (failed) co_return failed;
  collect_garbage();
  spdlog::info("function {}: deleted version {}", target.name, target.version);
  co_return std::nullopt;
}

// The checks CreateAlias and UpdateAlias share, on `alias` as it would be.
std::optional<ApiError> ControlPlane::check_alias(model::FunctionState const& state, json const& body,
                                                  model::AliasRecord& alias) const {
  auto const& name = state.latest.name;
  if (body.contains("FunctionVersion")) {
    if (!body["FunctionVersion"].is_string())
      return model::validation("null", "functionVersion", "Member must not be null");
    std::string v = body["FunctionVersion"];
    if (v != registry::kLatest && !all_digits(v))
      return model::validation(v, "functionVersion",
                               "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)");
    if (v != registry::kLatest && (v.size() > 9 || !state.versions.count(std::stoi(v))))
      return model::not_found("Function not found: " + functions_.arn(name, v));
    alias.function_version = v;
  }
  if (body.contains("Description") && body["Description"].is_string()) alias.description = body["Description"];
  if (body.contains("RoutingConfig") && body["RoutingConfig"].is_object()) {
    json weights = body["RoutingConfig"].value("AdditionalVersionWeights", json::object());
    if (!weights.is_object()) return model::validation(weights.dump(), "routingConfig.additionalVersionWeights",
                                                       "Member must be a map");
    if (weights.size() > 1)
      return model::invalid_parameter("Number of items in AdditionalVersionWeights cannot be greater than 1");
    alias.additional_weights.clear();
    for (auto const& [k, w] : weights.items()) {
      if (!w.is_number() || w.get<double>() < 0.0 || w.get<double>() > 1.0 || !all_digits(k))
        return model::validation(weights_text(weights), "routingConfig.additionalVersionWeights",
                                 "Map value must satisfy constraint: [Member must have value less than or equal to "
                                 "1.0, Member must have value greater than or equal to 0.0, Member must not be null]");
      if (k.size() > 9 || !state.versions.count(std::stoi(k)))
        return model::not_found("Function not found: " + functions_.arn(name, k));
      alias.additional_weights[k] = w.get<double>();
    }
  }
  if (!alias.additional_weights.empty()) {
    auto const& extra = alias.additional_weights.begin()->first;
    if (alias.function_version == registry::kLatest)
      return model::invalid_parameter("$LATEST is not supported for an alias pointing to more than 1 version");
    if (extra == alias.function_version)
      return model::invalid_parameter("Invalid function version " + extra + ". Function version " + extra +
                                      " is already included in routing configuration.");
  }
  return std::nullopt;
}

json ControlPlane::alias_json(std::string const& function, model::AliasRecord const& a) const {
  json j = {{"AliasArn", functions_.arn(function, a.name)},
            {"Name", a.name},
            {"FunctionVersion", a.function_version},
            {"Description", a.description},
            {"RevisionId", a.revision_id}};
  if (!a.additional_weights.empty()) j["RoutingConfig"] = {{"AdditionalVersionWeights", a.additional_weights}};
  return j;
}

asio::awaitable<Response> ControlPlane::create_alias(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (!body.contains("Name") || !body["Name"].is_string())
    co_return error_response(call, model::validation("null", "name", "Member must not be null"));
  if (!body.contains("FunctionVersion"))
    co_return error_response(call, model::validation("null", "functionVersion", "Member must not be null"));
  std::string alias_name = body["Name"];
  if (auto e = model::check_alias_name(alias_name)) co_return error_response(call, *e);
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  if (state.aliases.count(alias_name))
    co_return error_response(call, model::conflict("Alias already exists: " + functions_.arn(name, alias_name)));
  model::AliasRecord alias;
  alias.name = alias_name;
  if (auto e = check_alias(state, body, alias)) co_return error_response(call, *e);
  alias.revision_id = util::uuid4();
  state.aliases[alias_name] = alias;
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  spdlog::info("function {}: alias {} -> {}", name, alias_name, alias.function_version);
  co_return json_response(call, 201, alias_json(name, alias));
}

asio::awaitable<Response> ControlPlane::get_alias(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  auto const& state = *functions_.find(*resolved);
  auto a = state.aliases.find(call.param("alias"));
  if (a == state.aliases.end())
    co_return error_response(call, model::not_found("Cannot find alias arn: " +
                                                    functions_.arn(*resolved, call.param("alias"))));
  co_return json_response(call, 200, alias_json(*resolved, a->second));
}

asio::awaitable<Response> ControlPlane::update_alias(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  std::string alias_name = call.param("alias");
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  auto a = state.aliases.find(alias_name);
  if (a == state.aliases.end())
    co_return error_response(call, model::not_found("Alias not found: " + functions_.arn(name, alias_name)));
  if (body.contains("RevisionId") && body["RevisionId"].is_string() && body["RevisionId"] != a->second.revision_id)
    co_return error_response(call, revision_mismatch());
  model::AliasRecord alias = a->second;
  if (auto e = check_alias(state, body, alias)) co_return error_response(call, *e);
  alias.revision_id = util::uuid4();
  a->second = alias;
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return json_response(call, 200, alias_json(name, alias));
}

asio::awaitable<Response> ControlPlane::delete_alias(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  std::string alias_name = call.param("alias");
  model::FunctionState state = *functions_.find(name);
  if (!state.aliases.count(alias_name)) co_return empty_response(call, 204);  // as AWS: absent is fine
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  // Its URL config and policy go with it.
  state.aliases.erase(alias_name);
  state.urls.erase(alias_name);
  state.policies.erase(alias_name);
  state.event_configs.erase(alias_name);
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::list_aliases(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  auto page = page_of(call);
  if (!page) co_return error_response(call, page.error());
  std::optional<std::string> version;
  if (auto v = call.query.find("FunctionVersion"); v != call.query.end()) version = v->second;
  json items = json::array();
  for (auto const& [n, a] : functions_.find(*resolved)->aliases)
    if (!version || a.function_version == *version) items.push_back(alias_json(*resolved, a));
  co_return json_response(call, 200, paged(items, *page, "Aliases"));
}

}  // namespace lambdad::api
