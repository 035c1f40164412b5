// Parsing of the names the API accepts for functions (name, name:qualifier,
// partial ARN, full ARN) and layers (name or ARN, layer version ARN). Pure.
#pragma once

#include "api_error.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <string>

namespace lambdad::model {

struct Identity {
  std::string region = "us-east-1";
  std::string account = "000000000000";
};

struct FunctionRef {
  std::string name;
  std::optional<std::string> qualifier;
  std::optional<std::string> region;
  std::optional<std::string> account;
};

struct LayerVersionRef {
  std::string name;
  int version = 0;
};

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

bool valid_function_name(std::string const& name);
bool valid_layer_name(std::string const& name);
// `field` names the parameter in the validation message (e.g. "functionName").
ApiResult<FunctionRef> parse_function_ref(std::string const& text, std::string const& field = "functionName");
// A LayerName parameter: a bare name or an unversioned layer ARN of this account.
ApiResult<std::string> parse_layer_name(std::string const& text, Identity const& id);
// "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N".
std::optional<LayerVersionRef> parse_layer_version_arn(std::string const& text, Identity const& id);

std::string function_arn(Identity const& id, std::string const& name);
std::string layer_arn(Identity const& id, std::string const& name);
std::string layer_version_arn(Identity const& id, std::string const& name, int version);

}  // namespace lambdad::model

namespace boost::system {
// Lets result<T, ApiError>::value() throw; the control plane never calls it
// on an error, but the template needs the hook.
[[noreturn]] void throw_exception_from_error(lambdad::model::ApiError const& e,
                                             boost::source_location const& loc);
}  // namespace boost::system
