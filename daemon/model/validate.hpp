// Validation of CreateFunction / UpdateFunctionConfiguration / PublishLayerVersion
// request bodies, with the error types and messages AWS uses. Pure: layer
// existence and code are checked by the control plane.
#pragma once

#include "api_error.hpp"
#include "arn.hpp"
#include "records.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>

namespace lambdad::model {

struct HostInfo {
  std::vector<std::string> architectures{"x86_64"};  // what this machine can run
  // The runtime identifiers accepted (the runtime catalog's), and those of
  // them this host cannot run, with the reason.
  std::set<std::string> runtimes{"provided", "provided.al2", "provided.al2023"};
  std::map<std::string, std::string> unavailable_runtimes;
  // Why SQS and SNS targets (a DeadLetterConfig) cannot be delivered to, or
  // "" when a destination endpoint is configured.
  std::string no_service_delivery = "no destination endpoint is configured";
};

HostInfo detect_host();

// Applies the configuration fields present in `body` to `rec`, validating
// each. `create` makes Role, Runtime and Handler mandatory.
std::optional<ApiError> apply_function_config(nlohmann::json const& body, FunctionRecord& rec, bool create,
                                              Identity const& id, HostInfo const& host);

// An alias name: `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1 to 128 characters
// (botocore's Alias shape); every violated constraint listed.
std::optional<ApiError> check_alias_name(std::string const& name);
std::optional<ApiError> apply_layer_fields(nlohmann::json const& body, LayerVersionRecord& rec);

// Lambda's "reserved keys" that a function cannot set.
bool is_reserved_env_key(std::string const& key);

}  // namespace lambdad::model
