// The resource-based policy (AddPermission, GetPolicy, RemovePermission) and
// tags (TagResource, UntagResource, ListTags). Both are kept in the
// function's record and survive restarts. Shapes and words: botocore's
// model and LocalStack's AWS-recorded snapshots (test_lambda_api).
#include "control_plane.hpp"
#include "upload.hpp"

#include "../registry/policy.hpp"
#include "util/clock.hpp"

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;

namespace {

// The policy's RevisionId is its own (AWS-recorded since 2025: GetPolicy's
// RevisionId no longer follows the function's).
ApiError policy_revision_mismatch() {
  return ApiError{412, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to "
                  "retrieve the latest Revision Id",
                  {}};
}

// The policy key of a qualifier: "" for the function itself (or $LATEST).
std::string policy_key(registry::Target const& t) {
  return t.qualifier == registry::kLatest ? "" : t.qualifier;
}

}  // namespace

asio::awaitable<Response> ControlPlane::add_permission(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) co_return error_response(call, target.error());
  if (target->qualifier == registry::kLatest)
    co_return error_response(call, model::invalid_parameter("We currently do not support adding policies for $LATEST."));
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  std::string name = target->name;
  std::string key = policy_key(*target);
  auto statement = registry::make_statement(body, functions_.arn(name, key));
  if (!statement) co_return error_response(call, statement.error());
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  if (body.contains("RevisionId") && body["RevisionId"].is_string() && body["RevisionId"] != state.policy_revision)
    co_return error_response(call, policy_revision_mismatch());
  auto& statements = state.policies[key];
  std::string sid = (*statement)["Sid"];
  for (auto const& st : statements)
    if (st["Sid"] == sid)
      co_return error_response(call, model::conflict("The statement id (" + sid + ") provided already exists. "
                                                     "Please provide a new statement id, or remove the existing "
                                                     "statement."));
  statements.push_back(*statement);
  state.policy_revision = util::uuid4();
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  spdlog::info("function {}: permission {} added", functions_.arn(name, key), sid);
  co_return json_response(call, 201, json{{"Statement", registry::statement_text(*statement)}});
}

asio::awaitable<Response> ControlPlane::get_policy(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) co_return error_response(call, model::not_found("The resource you requested does not exist."));
  auto const& state = *functions_.find(target->name);
  auto p = state.policies.find(policy_key(*target));
  if (p == state.policies.end() || p->second.empty())
    co_return error_response(call, model::not_found("The resource you requested does not exist."));
  co_return json_response(call, 200, json{{"Policy", registry::policy_text(p->second)},
                                          {"RevisionId", state.policy_revision}});
}

asio::awaitable<Response> ControlPlane::remove_permission(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) {
    auto ref = model::parse_function_ref(call.param("name"));
    co_return error_response(call, model::not_found("No policy found for: " +
                                                    functions_.arn(ref ? ref->name : call.param("name"),
                                                                   qualifier_of(call).value_or(""))));
  }
  std::string name = target->name;
  std::string sid = call.param("sid");
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  if (auto r = call.query.find("RevisionId"); r != call.query.end() && r->second != state.policy_revision)
    co_return error_response(call, policy_revision_mismatch());
  if (!state.policies.count(policy_key(*target)))
    co_return error_response(call, model::not_found("No policy is associated with the given resource."));
  auto& statements = state.policies[policy_key(*target)];
  auto before = statements.size();
  std::erase_if(statements, [&sid](json const& st) { return st["Sid"] == sid; });
  if (statements.size() == before)
    co_return error_response(call, model::not_found("Statement " + sid + " is not found in resource policy."));
  if (statements.empty()) state.policies.erase(policy_key(*target));
  state.policy_revision = util::uuid4();
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

// The function a tagging call's ARN names; versions and aliases have no tags.
model::ApiResult<std::string> ControlPlane::tagged_function(std::string const& arn) const {
  auto target = functions_.resolve(arn, std::nullopt);
  if (!target) return target.error();
  if (!target->qualifier.empty())
    return model::invalid_parameter("Tags on function aliases and versions are not supported. Please specify a "
                                    "function ARN.");
  return target->name;
}

asio::awaitable<Response> ControlPlane::tag_resource(Call call) {
  auto name = tagged_function(call.param("arn"));
  if (!name) co_return error_response(call, name.error());
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (!body.contains("Tags") || !body["Tags"].is_object())
    co_return error_response(call, model::validation("null", "tags", "Member must not be null"));
  if (body["Tags"].empty())
    co_return error_response(call, model::invalid_parameter("An error occurred and the request cannot be processed."));
  if (functions_.busy(*name)) co_return error_response(call, update_in_progress(*name));
  model::FunctionState state = *functions_.find(*name);
  for (auto const& [k, v] : body["Tags"].items()) {
    if (!v.is_string()) co_return error_response(call, model::invalid_parameter("Tag values must be strings."));
    state.latest.tags[k] = v.get<std::string>();
  }
  if (state.latest.tags.size() > 50)
    co_return error_response(call, model::invalid_parameter("Number of tags exceeds resource tag limit."));
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::untag_resource(Call call) {
  auto name = tagged_function(call.param("arn"));
  if (!name) co_return error_response(call, name.error());
  // tagKeys repeats: read every one from the target, not the query map.
  std::vector<std::string> keys;
  if (auto url = boost::urls::parse_origin_form(call.req.target()))
    for (auto p : url->params())
      if (p.key == "tagKeys") keys.push_back(p.value);
  if (keys.empty()) co_return error_response(call, model::validation("null", "tagKeys", "Member must not be null"));
  if (functions_.busy(*name)) co_return error_response(call, update_in_progress(*name));
  model::FunctionState state = *functions_.find(*name);
  for (auto const& k : keys) state.latest.tags.erase(k);
  auto failed = co_await save_state(state, false);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::list_tags(Call call) {
  auto name = tagged_function(call.param("arn"));
  if (!name) co_return error_response(call, name.error());
  co_return json_response(call, 200, json{{"Tags", functions_.find(*name)->latest.tags}});
}

}  // namespace lambdad::api
