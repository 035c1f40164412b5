// A function's resource-based policy: the statement AddPermission adds, as
// GetPolicy renders it, and the check a function URL makes against it. Pure.
#pragma once

#include "model/api_error.hpp"
#include "model/arn.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lambdad::registry {

// AddPermission's body made into a statement on `resource` (the function's
// ARN, qualified when the permission is): Principal as AWS writes it ("*",
// {"Service": ...}, {"AWS": "arn:aws:iam::ACCOUNT:root"}), the conditions
// SourceArn, SourceAccount, PrincipalOrgID, EventSourceToken,
// FunctionUrlAuthType and InvokedViaFunctionUrl make. Or the error for a
// body AWS refuses.
model::ApiResult<nlohmann::json> make_statement(nlohmann::json const& body, std::string const& resource);

// As AWS writes them: compact, keys in its order (Sid, Effect, Principal,
// Action, Resource, Condition; Version, Id, Statement), as AWS-recorded.
std::string statement_text(nlohmann::json const& statement);
std::string policy_text(std::vector<nlohmann::json> const& statements);

// Whether the statements let an anonymous caller (AuthType NONE) or a
// signed one of `account` (AWS_IAM) call `action` through a function URL of
// `auth_type`: an Allow statement for that action (or lambda:* / *), its
// principal "*" (or the account), whose conditions a URL request meets.
bool url_allows(std::vector<nlohmann::json> const& statements, std::string const& action,
                std::string const& auth_type, std::optional<std::string> const& account);

}  // namespace lambdad::registry
