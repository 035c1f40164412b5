// The persistent records of the control plane: a function (its $LATEST
// configuration, published versions, aliases, URL configs, policy) and a
// layer version. Plain data with JSON (de)serialization;
// the on-disk format and the API shapes are both built from these.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::model {

// A layer version as a function holds it: the function keeps working (and
// keeps its tree) even after the layer version itself is deleted, as on Lambda.
struct LayerRef {
  std::string arn;
  std::string sha_hex;
  std::uint64_t code_size = 0;
  std::uint64_t unzipped_size = 0;
  std::string host_path;  // a hot-reloaded layer: its directory on the host ("" a stored tree)
};

// LoggingConfig ("Configuring advanced logging controls"): stored as AWS
// returns it. JSON has both levels (INFO unless given); Text has none.
struct LoggingConfig {
  std::string log_format = "Text";  // "Text" or "JSON"
  std::string application_log_level;  // TRACE..FATAL, JSON only
  std::string system_log_level;       // DEBUG, INFO, WARN; JSON only
  std::string log_group;              // "" for /aws/lambda/<name>
  bool json() const { return log_format == "JSON"; }
  bool operator==(LoggingConfig const&) const = default;
};

// The log group a function's lines go to.
std::string log_group_of(std::string const& function, LoggingConfig const& c);

struct FunctionRecord {
  std::string name;
  std::string runtime;
  std::string role;
  std::string handler;
  std::string description;
  int timeout = 3;
  int memory_size = 128;
  int ephemeral_storage = 512;
  std::string architecture = "x86_64";
  std::optional<std::map<std::string, std::string>> environment;
  std::vector<LayerRef> layers;  // in order: later layers win in /opt
  std::string code_sha256_hex;
  std::uint64_t code_size = 0;
  std::uint64_t unzipped_size = 0;
  // Hot reload (Code.S3Bucket "hot-reload"): the host directory bound at
  // /var/task instead of a stored tree; then code_sha256_hex is "".
  std::string code_host_path;
  std::string last_modified;
  std::string revision_id;
  std::map<std::string, std::string> tags;
  std::optional<int> reserved_concurrency;
  std::string dead_letter_target;  // DeadLetterConfig.TargetArn (SQS or SNS); "" none
  LoggingConfig logging;
};

// An alias: a name for one version, or for two with a weight on the second.
struct AliasRecord {
  std::string name;
  std::string function_version;
  std::string description;
  std::map<std::string, double> additional_weights;  // RoutingConfig.AdditionalVersionWeights
  std::string revision_id;
};

// A function URL config, on the function itself ("" qualifier) or on an alias.
struct UrlConfigRecord {
  std::string qualifier;  // "" or an alias name
  std::string url_id;     // 32 [a-z0-9], stable for the config's life
  std::string auth_type;  // "NONE" or "AWS_IAM"
  std::optional<nlohmann::json> cors;  // the API's Cors object, as given
  std::optional<std::string> invoke_mode;  // as given: "BUFFERED" or "RESPONSE_STREAM"
  std::string creation_time;
  std::string last_modified;
};

// An EventInvokeConfig (PutFunctionEventInvokeConfig), of $LATEST, a
// version or an alias: what is not given is Lambda's default.
struct EventConfigRecord {
  std::optional<int> max_retry_attempts;  // MaximumRetryAttempts, 0..2
  std::optional<int> max_event_age;       // MaximumEventAgeInSeconds, 60..21600
  std::string on_success;                 // DestinationConfig ARNs; "" none
  std::string on_failure;
  double last_modified = 0;  // epoch seconds, as the API returns it
};

// Everything kept of one function: what a record file on disk holds.
struct FunctionState {
  FunctionRecord latest;                  // $LATEST: the only mutable configuration
  std::map<int, FunctionRecord> versions;  // published, immutable snapshots
  int last_version = 0;                   // numbers are never reused
  std::map<std::string, AliasRecord> aliases;
  std::map<std::string, UrlConfigRecord> urls;  // by qualifier ("" unqualified)
  // Resource policy statements (as GetPolicy renders them), by qualifier
  // ("" for the function itself), in the order they were added.
  std::map<std::string, std::vector<nlohmann::json>> policies;
  std::string policy_revision;  // RevisionId of the policy
  std::map<std::string, EventConfigRecord> event_configs;  // by qualifier: "$LATEST", a version, an alias
};

struct LayerVersionRecord {
  std::string name;
  int version = 0;
  std::string description;
  std::string created_date;
  std::vector<std::string> compatible_runtimes;
  std::vector<std::string> compatible_architectures;
  std::string license_info;
  std::string code_sha256_hex;
  std::uint64_t code_size = 0;
  std::uint64_t unzipped_size = 0;
  std::string host_path;  // hot reload: the host directory ("" a stored tree)
};

void to_json(nlohmann::json& j, LayerRef const& r);
void from_json(nlohmann::json const& j, LayerRef& r);
void to_json(nlohmann::json& j, FunctionRecord const& r);
void from_json(nlohmann::json const& j, FunctionRecord& r);
void to_json(nlohmann::json& j, AliasRecord const& r);
void from_json(nlohmann::json const& j, AliasRecord& r);
void to_json(nlohmann::json& j, UrlConfigRecord const& r);
void from_json(nlohmann::json const& j, UrlConfigRecord& r);
void to_json(nlohmann::json& j, EventConfigRecord const& r);
void from_json(nlohmann::json const& j, EventConfigRecord& r);
// A record file written before versions existed holds a bare FunctionRecord:
// it reads as a function with only $LATEST.
void to_json(nlohmann::json& j, FunctionState const& r);
void from_json(nlohmann::json const& j, FunctionState& r);
void to_json(nlohmann::json& j, LayerVersionRecord const& r);
void from_json(nlohmann::json const& j, LayerVersionRecord& r);

}  // namespace lambdad::model
