#include "policy.hpp"

#include <algorithm>
#include <regex>

namespace lambdad::registry {

using nlohmann::json;

namespace {

bool is_account(std::string const& p) {
  return p.size() == 12 && std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// As AWS stores a principal: an account id becomes its root ARN, a
// service name ("s3.amazonaws.com") a Service principal.
json principal_of(std::string const& p) {
  if (p == "*") return "*";
  if (is_account(p)) return json{{"AWS", "arn:aws:iam::" + p + ":root"}};
  if (p.rfind("arn:", 0) == 0) return json{{"AWS", p}};
  return json{{"Service", p}};
}

std::optional<std::string> string_field(json const& body, char const* key) {
  if (body.contains(key) && body[key].is_string()) return body[key].get<std::string>();
  return std::nullopt;
}

void add_condition(json& st, char const* op, char const* key, json value) {
  st["Condition"][op][key] = std::move(value);
}

}  // namespace

model::ApiResult<json> make_statement(json const& body, std::string const& resource) {
  auto sid = string_field(body, "StatementId");
  auto action = string_field(body, "Action");
  auto principal = string_field(body, "Principal");
  if (!sid) return model::validation("null", "statementId", "Member must not be null");
  if (!action) return model::validation("null", "action", "Member must not be null");
  if (!principal) return model::validation("null", "principal", "Member must not be null");
  static std::regex const sid_re("([a-zA-Z0-9-_]+)");
  if (sid->empty() || sid->size() > 100 || !std::regex_match(*sid, sid_re))
    return model::validation(*sid, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
  static std::regex const principal_re("[^\\s]+");
  if (!std::regex_match(*principal, principal_re) || (principal->find('.') == std::string::npos &&
                                                      *principal != "*" && !is_account(*principal) &&
                                                      principal->rfind("arn:", 0) != 0))
    return model::invalid_parameter("The provided principal was invalid. Please check the principal and try again.");
  static std::regex const action_re("(lambda:[*]|lambda:[a-zA-Z]+|[*])");
  if (!std::regex_match(*action, action_re))
    return model::validation(*action, "action",
                             "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])");
  json st = {{"Sid", *sid}, {"Effect", "Allow"}, {"Principal", principal_of(*principal)}, {"Action", *action},
             {"Resource", resource}};
  if (auto v = string_field(body, "SourceAccount")) add_condition(st, "StringEquals", "AWS:SourceAccount", *v);
  if (auto v = string_field(body, "PrincipalOrgID")) add_condition(st, "StringEquals", "aws:PrincipalOrgID", *v);
  if (auto v = string_field(body, "EventSourceToken")) add_condition(st, "StringEquals", "lambda:EventSourceToken", *v);
  if (auto v = string_field(body, "FunctionUrlAuthType")) {
    if (*v != "NONE" && *v != "AWS_IAM")
      return model::validation(*v, "functionUrlAuthType", "Member must satisfy enum value set: [AWS_IAM, NONE]");
    if (*action != "lambda:InvokeFunctionUrl")
      return model::invalid_parameter("The FunctionUrlAuthType parameter is only supported for the "
                                      "lambda:InvokeFunctionUrl action.");
    add_condition(st, "StringEquals", "lambda:FunctionUrlAuthType", *v);
  }
  if (body.contains("InvokedViaFunctionUrl") && body["InvokedViaFunctionUrl"].is_boolean()) {
    if (*action != "lambda:InvokeFunction")
      return model::invalid_parameter("The InvokedViaFunctionUrl parameter is only supported for the "
                                      "lambda:InvokeFunction action.");
    add_condition(st, "Bool", "lambda:InvokedViaFunctionUrl", body["InvokedViaFunctionUrl"].get<bool>() ? "true"
                                                                                                        : "false");
  }
  if (auto v = string_field(body, "SourceArn")) add_condition(st, "ArnLike", "AWS:SourceArn", *v);
  return model::ApiResult<json>(boost::system::in_place_value, std::move(st));
}

namespace {

// AWS-recorded (test_lambda_api: all four conditions at once):
// StringEquals {AWS:SourceAccount, lambda:FunctionUrlAuthType,
// aws:PrincipalOrgID}, then ArnLike. Where Bool goes is not recorded: last.
nlohmann::ordered_json ordered_condition(json const& cond) {
  static char const* const ops[] = {"StringEquals", "ArnLike", "Bool"};
  static char const* const keys[] = {"AWS:SourceAccount", "lambda:FunctionUrlAuthType", "aws:PrincipalOrgID",
                                     "lambda:EventSourceToken", "AWS:SourceArn", "lambda:InvokedViaFunctionUrl"};
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (auto const* op : ops) {
    if (!cond.contains(op)) continue;
    nlohmann::ordered_json inner = nlohmann::ordered_json::object();
    for (auto const* key : keys)
      if (cond[op].contains(key)) inner[key] = cond[op][key];
    out[op] = inner;
  }
  return out;
}

nlohmann::ordered_json ordered_statement(json const& st) {
  nlohmann::ordered_json out;
  for (auto const* key : {"Sid", "Effect", "Principal", "Action", "Resource"})
    if (st.contains(key)) out[key] = st[key];
  if (st.contains("Condition")) out["Condition"] = ordered_condition(st["Condition"]);
  return out;
}

}  // namespace

std::string statement_text(json const& statement) { return ordered_statement(statement).dump(); }

std::string policy_text(std::vector<json> const& statements) {
  nlohmann::ordered_json doc = {{"Version", "2012-10-17"}, {"Id", "default"}, {"Statement", nlohmann::ordered_json::array()}};
  for (auto const& st : statements) doc["Statement"].push_back(ordered_statement(st));
  return doc.dump();
}

namespace {

bool action_matches(json const& a, std::string const& action) {
  if (!a.is_string()) return false;
  auto s = a.get<std::string>();
  return s == action || s == "lambda:*" || s == "*";
}

bool principal_matches(json const& p, std::optional<std::string> const& account) {
  if (p == "*") return true;
  if (!account || !p.is_object() || !p.contains("AWS")) return false;
  return p["AWS"] == "arn:aws:iam::" + *account + ":root";
}

// Conditions a URL request can meet: the auth type and "invoked via a
// function URL"; any other (SourceArn, SourceAccount...) a URL request has
// no value for, so the statement does not apply.
bool conditions_met(json const& st, std::string const& auth_type) {
  if (!st.contains("Condition")) return true;
  for (auto const& [op, keys] : st["Condition"].items())
    for (auto const& [key, value] : keys.items()) {
      if (op == "StringEquals" && key == "lambda:FunctionUrlAuthType" && value == auth_type) continue;
      if (op == "Bool" && key == "lambda:InvokedViaFunctionUrl" && value == "true") continue;
      return false;
    }
  return true;
}

}  // namespace

bool url_allows(std::vector<json> const& statements, std::string const& action, std::string const& auth_type,
                std::optional<std::string> const& account) {
  for (auto const& st : statements)
    if (st.value("Effect", "") == "Allow" && action_matches(st.value("Action", json()), action) &&
        principal_matches(st.value("Principal", json()), account) && conditions_met(st, auth_type))
      return true;
  return false;
}

}  // namespace lambdad::registry
