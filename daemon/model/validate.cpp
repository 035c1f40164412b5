#include "validate.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string_view>

namespace lambdad::model {

using nlohmann::json;

namespace {


std::optional<ApiError> type_error(char const* field, char const* type) {
  return invalid_request_content(std::string("Could not parse request body into json: field ") + field +
                                 " must be " + type);
}

std::optional<ApiError> range(json const& v, char const* field, char const* wire, long lo, long hi, int& out) {
  if (!v.is_number_integer()) return type_error(field, "an integer");
  auto n = v.get<long>();
  if (n < lo)
    return validation(std::to_string(n), wire, "Member must have value greater than or equal to " + std::to_string(lo));
  if (n > hi)
    return validation(std::to_string(n), wire, "Member must have value less than or equal to " + std::to_string(hi));
  out = static_cast<int>(n);
  return std::nullopt;
}

bool valid_role(std::string const& role) {
  // arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
  static std::string const head = "arn:aws";
  if (role.rfind(head, 0) != 0) return false;
  auto iam = role.find(":iam::");
  if (iam == std::string::npos) return false;
  for (std::size_t i = head.size(); i < iam; ++i)
    if (!std::isalpha(static_cast<unsigned char>(role[i])) && role[i] != '-') return false;
  std::size_t acct = iam + 6;
  if (role.size() < acct + 13) return false;
  for (std::size_t i = acct; i < acct + 12; ++i)
    if (!std::isdigit(static_cast<unsigned char>(role[i]))) return false;
  if (role.compare(acct + 12, 6, ":role/") != 0) return false;
  std::string rest = role.substr(acct + 18);
  if (rest.empty()) return false;
  for (char c : rest)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("+=,.@-_/").find(c) == std::string::npos)
      return false;
  return true;
}

bool valid_env_key(std::string const& k) {
  if (k.size() < 2 || !std::isalpha(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::optional<ApiError> apply_environment(json const& env, FunctionRecord& rec) {
  if (!env.is_object()) return type_error("Environment", "an object");
  std::map<std::string, std::string> vars;
  if (env.contains("Variables") && !env["Variables"].is_null()) {
    auto const& v = env["Variables"];
    if (!v.is_object()) return type_error("Environment.Variables", "an object");
    std::string reserved;
    for (auto const& [k, val] : v.items()) {
      if (!val.is_string()) return type_error("Environment.Variables", "a map of strings");
      if (!valid_env_key(k))
        return validation(k, "environment.variables",
                          "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+");
      if (is_reserved_env_key(k)) reserved += (reserved.empty() ? "" : ", ") + k;
      vars[k] = val.get<std::string>();
    }
    if (!reserved.empty())
      return invalid_parameter(
          "Lambda was unable to configure your environment variables because the environment variables you have "
          "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
          "in this request: " + reserved);
    std::string measured = json(vars).dump();
    if (measured.size() > 4096)
      return invalid_parameter(
          "Lambda was unable to configure your environment variables because the environment variables you have "
          "provided exceeded the 4KB limit. String measured: " + measured);
  }
  rec.environment = std::move(vars);
  return std::nullopt;
}

std::optional<ApiError> apply_layers(json const& layers, FunctionRecord& rec, Identity const& id) {
  if (!layers.is_array()) return type_error("Layers", "a list");
  if (layers.size() > 5) return invalid_parameter("Cannot reference more than 5 layers.");
  std::vector<LayerRef> out;
  std::set<std::string> names;
  for (auto const& l : layers) {
    if (!l.is_string()) return type_error("Layers", "a list of strings");
    auto arn = l.get<std::string>();
    auto ref = parse_layer_version_arn(arn, id);
    if (!ref)
      return validation(arn, "layers",
                        "Member must satisfy regular expression pattern: "
                        "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
    if (!names.insert(ref->name).second)
      return invalid_parameter("Two different versions of the same layer are not allowed to be referenced in "
                               "the same function. " + layer_arn(id, ref->name) + " uses multiple versions.");
    out.push_back(LayerRef{arn, {}, 0, 0, {}});
  }
  rec.layers = std::move(out);  // the control plane fills in what each version holds
  return std::nullopt;
}

std::optional<ApiError> apply_architectures(json const& archs, FunctionRecord& rec, HostInfo const& host) {
  if (!archs.is_array()) return type_error("Architectures", "a list");
  if (archs.size() != 1)
    return validation(archs.dump(), "architectures",
                      "Member must have length less than or equal to 1 and greater than or equal to 1");
  if (!archs[0].is_string()) return type_error("Architectures", "a list of strings");
  auto a = archs[0].get<std::string>();
  if (a != "x86_64" && a != "arm64")
    return validation(archs.dump(), "architectures", "Member must satisfy enum value set: [x86_64, arm64]");
  bool runnable = false;
  for (auto const& h : host.architectures) runnable |= (h == a);
  if (!runnable)
    return invalid_parameter("Architecture " + a + " cannot run on this host, which runs " +
                             host.architectures.front() + " natively and has no emulator for " + a +
                             " registered (binfmt_misc).");
  rec.architecture = a;
  return std::nullopt;
}

// A string field with the model's maximum length and, if `pattern` is given,
// its pattern (checked by `matches`); both are reported when both break.
std::optional<ApiError> apply_string(json const& body, char const* key, char const* wire, std::size_t max,
                                     std::string& out, bool (*matches)(std::string const&) = nullptr,
                                     char const* pattern = nullptr) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_string()) return type_error(key, "a string");
  auto s = body[key].get<std::string>();
  std::vector<std::string> broken;
  if (matches && !matches(s)) broken.push_back(std::string("Member must satisfy regular expression pattern: ") + pattern);
  if (s.size() > max) broken.push_back("Member must have length less than or equal to " + std::to_string(max));
  if (!broken.empty()) return validation_errors(s, wire, broken);
  out = std::move(s);
  return std::nullopt;
}

bool no_space(std::string const& s) {
  // [^\s]+ (an empty Handler is Lambda's "mandatory parameter" error instead)
  for (char c : s)
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

bool valid_log_group(std::string const& s) {
  // [\.\-_/#A-Za-z0-9]+
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("._-/#").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// DeadLetterConfig: an SQS queue or SNS topic ARN, "" to remove it; lambdad
// delivers to it only through a configured destination endpoint.
std::optional<ApiError> apply_dead_letter(json const& cfg, FunctionRecord& rec, HostInfo const& host) {
  if (!cfg.is_object()) return type_error("DeadLetterConfig", "an object");
  std::string arn;
  if (cfg.contains("TargetArn") && !cfg["TargetArn"].is_null()) {
    if (!cfg["TargetArn"].is_string()) return type_error("DeadLetterConfig.TargetArn", "a string");
    arn = cfg["TargetArn"].get<std::string>();
  }
  bool sqs = arn.rfind("arn:aws:sqs:", 0) == 0, sns = arn.rfind("arn:aws:sns:", 0) == 0;
  if (!arn.empty() && !sqs && !sns)
    return invalid_parameter("The provided target arn " + arn + " is invalid: a dead-letter queue is an SQS queue "
                             "or an SNS topic");
  if (!arn.empty() && !host.no_service_delivery.empty())
    return invalid_parameter("lambdad cannot deliver to the dead-letter target " + arn + ": " +
                             host.no_service_delivery);
  rec.dead_letter_target = arn;
  return std::nullopt;
}

// An enum member of LoggingConfig, in AWS's set order (botocore's model).
std::optional<ApiError> apply_enum(json const& cfg, char const* key, char const* wire,
                                   std::vector<std::string> const& members, std::string& out) {
  if (!cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
  if (!cfg[key].is_string()) return type_error(key, "a string");
  auto v = cfg[key].get<std::string>();
  if (std::find(members.begin(), members.end(), v) != members.end()) {
    out = v;
    return std::nullopt;
  }
  std::string set;
  for (auto const& m : members) set += (set.empty() ? "" : ", ") + m;
  return validation(v, wire, "Member must satisfy enum value set: [" + set + "]");
}

// LoggingConfig, merged into the function's (UpdateFunctionConfiguration
// changes only the fields given), then as AWS stores it: JSON gets INFO for
// a level not set, Text keeps no levels (switching to Text drops them).
std::optional<ApiError> apply_logging_config(json const& cfg, LoggingConfig& out) {
  if (!cfg.is_object()) return type_error("LoggingConfig", "an object");
  LoggingConfig c = out;
  if (auto e = apply_enum(cfg, "LogFormat", "loggingConfig.logFormat", {"JSON", "Text"}, c.log_format)) return e;
  if (auto e = apply_enum(cfg, "ApplicationLogLevel", "loggingConfig.applicationLogLevel",
                          {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, c.application_log_level))
    return e;
  if (auto e = apply_enum(cfg, "SystemLogLevel", "loggingConfig.systemLogLevel", {"DEBUG", "INFO", "WARN"},
                          c.system_log_level))
    return e;
  if (cfg.contains("LogGroup") && cfg["LogGroup"].is_string() && cfg["LogGroup"].get<std::string>().empty())
    return validation("", "loggingConfig.logGroup", "Member must have length greater than or equal to 1");
  if (auto e = apply_string(cfg, "LogGroup", "loggingConfig.logGroup", 512, c.log_group, valid_log_group,
                            "[\\.\\-_/#A-Za-z0-9]+"))
    return e;
  if (c.json()) {
    if (c.application_log_level.empty()) c.application_log_level = "INFO";
    if (c.system_log_level.empty()) c.system_log_level = "INFO";
  } else {
    c.application_log_level.clear();
    c.system_log_level.clear();
  }
  out = std::move(c);
  return std::nullopt;
}

}  // namespace

HostInfo detect_host() {
  HostInfo h;
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "aarch64") m = "arm64";
  h.architectures = {m};
  if (m == "x86_64" && ::access("/proc/sys/fs/binfmt_misc/qemu-aarch64", F_OK) == 0) h.architectures.push_back("arm64");
  if (m == "arm64" && ::access("/proc/sys/fs/binfmt_misc/qemu-x86_64", F_OK) == 0) h.architectures.push_back("x86_64");
  return h;
}

bool is_reserved_env_key(std::string const& k) {
  static std::set<std::string> const exact = {
      "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_TASK_ROOT",
      "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS"};
  // AWS_LAMBDA_EXEC_WRAPPER is the user's to set ("Modifying the runtime
  // environment": wrapper scripts); the rest of AWS_LAMBDA_* is Lambda's.
  if (k == "AWS_LAMBDA_EXEC_WRAPPER") return false;
  return exact.count(k) || k.rfind("AWS_LAMBDA_", 0) == 0;
}

std::optional<ApiError> apply_function_config(json const& body, FunctionRecord& rec, bool create, Identity const& id,
                                              HostInfo const& host) {
  if (create && body.contains("FunctionName") && body["FunctionName"].is_string()) {
    // CreateFunction's own FunctionName shape (max 140, then the 64 of a name);
    // the control plane has already resolved it with the lookup shape.
    auto ref = parse_new_function_name(body["FunctionName"].get<std::string>());
    if (!ref) return ref.error();
  }
  if (body.contains("Role") && !body["Role"].is_null()) {
    // RoleArn: max 10000 and this pattern.
    if (auto e = apply_string(body, "Role", "role", 10000, rec.role, valid_role,
                              "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"))
      return e;
  } else if (create) {
    return validation("null", "role", "Member must not be null");
  }
  if (body.contains("PackageType") && body["PackageType"] != "Zip")
    return invalid_parameter("PackageType " + body["PackageType"].dump() +
                             " is not supported by lambdad; only Zip packages are.");
  if (body.contains("Runtime") && !body["Runtime"].is_null()) {
    if (!body["Runtime"].is_string()) return type_error("Runtime", "a string");
    auto rt = body["Runtime"].get<std::string>();
    // AWS's sentence for a runtime it does not take, with lambdad's reason.
    if (!host.runtimes.count(rt)) {
      std::string list;
      for (auto const& r : host.runtimes) list += (list.empty() ? "" : ", ") + r;
      return invalid_parameter("The runtime parameter of " + rt + " is not supported by lambdad. Supported runtimes: " +
                               list + ".");
    }
    if (auto why = host.unavailable_runtimes.find(rt); why != host.unavailable_runtimes.end())
      return invalid_parameter("The runtime parameter of " + rt + " is not supported on this host: " + why->second +
                               ".");
    rec.runtime = rt;
  }
  if (auto e = apply_string(body, "Handler", "handler", 128, rec.handler, no_space, "[^\\s]+")) return e;
  if (create && (rec.runtime.empty() || rec.handler.empty()))
    return invalid_parameter("Runtime and Handler are mandatory parameters for functions created with deployment "
                             "packages.");
  if (auto e = apply_string(body, "Description", "description", 256, rec.description)) return e;
  if (body.contains("Timeout") && !body["Timeout"].is_null())
    if (auto e = range(body["Timeout"], "Timeout", "timeout", 1, 900, rec.timeout)) return e;
  if (body.contains("MemorySize") && !body["MemorySize"].is_null())
    if (auto e = range(body["MemorySize"], "MemorySize", "memorySize", 128, 10240, rec.memory_size)) return e;
  if (body.contains("EphemeralStorage") && !body["EphemeralStorage"].is_null()) {
    auto const& es = body["EphemeralStorage"];
    if (!es.is_object() || !es.contains("Size")) return type_error("EphemeralStorage", "an object with Size");
    if (auto e = range(es["Size"], "EphemeralStorage.Size", "ephemeralStorage.size", 512, 10240,
                       rec.ephemeral_storage))
      return e;
  }
  if (body.contains("Environment") && !body["Environment"].is_null())
    if (auto e = apply_environment(body["Environment"], rec)) return e;
  if (body.contains("Layers") && !body["Layers"].is_null())
    if (auto e = apply_layers(body["Layers"], rec, id)) return e;
  if (body.contains("Architectures") && !body["Architectures"].is_null())
    if (auto e = apply_architectures(body["Architectures"], rec, host)) return e;
  if (body.contains("LoggingConfig") && !body["LoggingConfig"].is_null())
    if (auto e = apply_logging_config(body["LoggingConfig"], rec.logging)) return e;
  if (body.contains("DeadLetterConfig") && !body["DeadLetterConfig"].is_null())
    if (auto e = apply_dead_letter(body["DeadLetterConfig"], rec, host)) return e;
  if (create && body.contains("Tags") && !body["Tags"].is_null()) {
    if (!body["Tags"].is_object()) return type_error("Tags", "an object");
    for (auto const& [k, v] : body["Tags"].items()) {
      if (!v.is_string()) return type_error("Tags", "a map of strings");
      rec.tags[k] = v.get<std::string>();
    }
  }
  return std::nullopt;
}

std::optional<ApiError> apply_layer_fields(json const& body, LayerVersionRecord& rec) {
  if (auto e = apply_string(body, "Description", "description", 256, rec.description)) return e;
  if (auto e = apply_string(body, "LicenseInfo", "licenseInfo", 512, rec.license_info)) return e;
  if (body.contains("CompatibleRuntimes") && !body["CompatibleRuntimes"].is_null()) {
    auto const& v = body["CompatibleRuntimes"];
    if (!v.is_array() || v.size() > 15) return type_error("CompatibleRuntimes", "a list of at most 15 runtimes");
    for (auto const& r : v) {
      if (!r.is_string()) return type_error("CompatibleRuntimes", "a list of strings");
      rec.compatible_runtimes.push_back(r.get<std::string>());
    }
  }
  if (body.contains("CompatibleArchitectures") && !body["CompatibleArchitectures"].is_null()) {
    auto const& v = body["CompatibleArchitectures"];
    if (!v.is_array() || v.size() > 2) return type_error("CompatibleArchitectures", "a list of at most 2");
    for (auto const& a : v) {
      if (a != "x86_64" && a != "arm64")
        return validation(v.dump(), "compatibleArchitectures", "Member must satisfy enum value set: [x86_64, arm64]");
      rec.compatible_architectures.push_back(a.get<std::string>());
    }
  }
  return std::nullopt;
}

std::optional<ApiError> check_alias_name(std::string const& name) {
  std::vector<std::string> broken;
  if (name.empty() || name.size() > 128)
    broken.push_back(name.empty() ? "Member must have length greater than or equal to 1"
                                  : "Member must have length less than or equal to 128");
  bool chars = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
  bool digits = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!chars || digits || name.empty())
    broken.push_back("Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)");
  if (broken.empty()) return std::nullopt;
  return validation_errors(name, "name", broken);
}

}  // namespace lambdad::model
