// Parsing of the names the API accepts for functions (name, name:qualifier,
// partial ARN, full ARN) and layers (name or ARN, layer version ARN). Pure.
#pragma once

#include "api_error.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <vector>

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

// The two shapes a FunctionName parameter has in Lambda's service model
// (botocore/data/lambda/2015-03-31/service-2.json): `FunctionName` (max 140,
// no '.' in the name; CreateFunction, UpdateFunction*, *FunctionConcurrency)
// and `NamespacedFunctionName` (max 256, '.' and $LATEST.PUBLISHED allowed;
// GetFunction, GetFunctionConfiguration, DeleteFunction, Invoke).
enum class NameShape { function_name, namespaced };

bool valid_function_name(std::string const& name);  // a name a function can have: at most 64 of [a-zA-Z0-9-_]
bool valid_layer_name(std::string const& name);
// A function named by name, name:qualifier, partial or full ARN, checked
// against the shape's length and pattern as AWS checks them: every violated
// constraint is listed ("2 validation errors detected: ...; ...").
ApiResult<FunctionRef> parse_function_ref(std::string const& text, NameShape shape = NameShape::namespaced);
// CreateFunction's FunctionName: the `FunctionName` shape, then the service's
// own 64-character limit on the name, which AWS reports as an
// InvalidParameterValueException worded like a validation error.
ApiResult<FunctionRef> parse_new_function_name(std::string const& text);
// A LayerName parameter: a bare name or an unversioned layer ARN of this account.
ApiResult<std::string> parse_layer_name(std::string const& text, Identity const& id);
// Every constraint one value breaks, in AWS's words: "N validation error(s)
// detected: Value 'v' at 'field' failed to satisfy constraint: C1; Value ...".
ApiError validation_errors(std::string const& value, std::string const& field,
                           std::vector<std::string> const& constraints);
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
