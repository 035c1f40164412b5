#include "records.hpp"

namespace lambdad::model {

using nlohmann::json;

void to_json(json& j, LayerRef const& r) {
  j = json{{"arn", r.arn}, {"sha256", r.sha_hex}, {"code_size", r.code_size}, {"unzipped_size", r.unzipped_size}};
  if (!r.host_path.empty()) j["host_path"] = r.host_path;
}

void from_json(json const& j, LayerRef& r) {
  j.at("arn").get_to(r.arn);
  j.at("sha256").get_to(r.sha_hex);
  j.at("code_size").get_to(r.code_size);
  j.at("unzipped_size").get_to(r.unzipped_size);
  r.host_path = j.value("host_path", "");
}

std::string log_group_of(std::string const& function, LoggingConfig const& c) {
  return c.log_group.empty() ? "/aws/lambda/" + function : c.log_group;
}

void to_json(json& j, LoggingConfig const& c) {
  j = json{{"format", c.log_format}};
  if (!c.application_log_level.empty()) j["application_level"] = c.application_log_level;
  if (!c.system_log_level.empty()) j["system_level"] = c.system_log_level;
  if (!c.log_group.empty()) j["group"] = c.log_group;
}

void from_json(json const& j, LoggingConfig& c) {
  j.at("format").get_to(c.log_format);
  c.application_log_level = j.value("application_level", "");
  c.system_log_level = j.value("system_level", "");
  c.log_group = j.value("group", "");
}

void to_json(json& j, FunctionRecord const& r) {
  j = json{{"name", r.name},
           {"runtime", r.runtime},
           {"role", r.role},
           {"handler", r.handler},
           {"description", r.description},
           {"timeout", r.timeout},
           {"memory_size", r.memory_size},
           {"ephemeral_storage", r.ephemeral_storage},
           {"architecture", r.architecture},
           {"layers", r.layers},
           {"code_sha256", r.code_sha256_hex},
           {"code_size", r.code_size},
           {"unzipped_size", r.unzipped_size},
           {"last_modified", r.last_modified},
           {"revision_id", r.revision_id},
           {"tags", r.tags}};
  if (r.environment) j["environment"] = *r.environment;
  if (r.reserved_concurrency) j["reserved_concurrency"] = *r.reserved_concurrency;
  if (r.logging != LoggingConfig{}) j["logging"] = r.logging;
  if (!r.dead_letter_target.empty()) j["dead_letter"] = r.dead_letter_target;
  if (!r.code_host_path.empty()) j["code_host_path"] = r.code_host_path;
}

void from_json(json const& j, FunctionRecord& r) {
  j.at("name").get_to(r.name);
  j.at("runtime").get_to(r.runtime);
  j.at("role").get_to(r.role);
  j.at("handler").get_to(r.handler);
  j.at("description").get_to(r.description);
  j.at("timeout").get_to(r.timeout);
  j.at("memory_size").get_to(r.memory_size);
  j.at("ephemeral_storage").get_to(r.ephemeral_storage);
  j.at("architecture").get_to(r.architecture);
  j.at("layers").get_to(r.layers);
  j.at("code_sha256").get_to(r.code_sha256_hex);
  j.at("code_size").get_to(r.code_size);
  j.at("unzipped_size").get_to(r.unzipped_size);
  j.at("last_modified").get_to(r.last_modified);
  j.at("revision_id").get_to(r.revision_id);
  j.at("tags").get_to(r.tags);
  if (j.contains("environment")) r.environment = j.at("environment").get<std::map<std::string, std::string>>();
  if (j.contains("reserved_concurrency")) r.reserved_concurrency = j.at("reserved_concurrency").get<int>();
  if (j.contains("logging")) j.at("logging").get_to(r.logging);
  if (j.contains("dead_letter")) j.at("dead_letter").get_to(r.dead_letter_target);
  r.code_host_path = j.value("code_host_path", "");
}

void to_json(json& j, AliasRecord const& r) {
  j = json{{"name", r.name}, {"function_version", r.function_version}, {"description", r.description},
           {"additional_weights", r.additional_weights}, {"revision_id", r.revision_id}};
}

void from_json(json const& j, AliasRecord& r) {
  j.at("name").get_to(r.name);
  j.at("function_version").get_to(r.function_version);
  j.at("description").get_to(r.description);
  j.at("additional_weights").get_to(r.additional_weights);
  j.at("revision_id").get_to(r.revision_id);
}

void to_json(json& j, UrlConfigRecord const& r) {
  j = json{{"qualifier", r.qualifier}, {"url_id", r.url_id}, {"auth_type", r.auth_type},
           {"creation_time", r.creation_time}, {"last_modified", r.last_modified}};
  if (r.cors) j["cors"] = *r.cors;
  if (r.invoke_mode) j["invoke_mode"] = *r.invoke_mode;
}

void from_json(json const& j, UrlConfigRecord& r) {
  j.at("qualifier").get_to(r.qualifier);
  j.at("url_id").get_to(r.url_id);
  j.at("auth_type").get_to(r.auth_type);
  j.at("creation_time").get_to(r.creation_time);
  j.at("last_modified").get_to(r.last_modified);
  if (j.contains("cors")) r.cors = j.at("cors");
  if (j.contains("invoke_mode")) r.invoke_mode = j.at("invoke_mode").get<std::string>();
}

void to_json(json& j, EventConfigRecord const& r) {
  j = json{{"on_success", r.on_success}, {"on_failure", r.on_failure}, {"last_modified", r.last_modified}};
  if (r.max_retry_attempts) j["max_retry_attempts"] = *r.max_retry_attempts;
  if (r.max_event_age) j["max_event_age"] = *r.max_event_age;
}

void from_json(json const& j, EventConfigRecord& r) {
  j.at("on_success").get_to(r.on_success);
  j.at("on_failure").get_to(r.on_failure);
  j.at("last_modified").get_to(r.last_modified);
  if (j.contains("max_retry_attempts")) r.max_retry_attempts = j.at("max_retry_attempts").get<int>();
  if (j.contains("max_event_age")) r.max_event_age = j.at("max_event_age").get<int>();
}

void to_json(json& j, FunctionState const& r) {
  json versions = json::array();
  for (auto const& [n, v] : r.versions) versions.push_back(json{{"version", n}, {"record", v}});
  json aliases = json::array();
  for (auto const& [n, a] : r.aliases) aliases.push_back(a);
  json urls = json::array();
  for (auto const& [q, u] : r.urls) urls.push_back(u);
  j = json{{"latest", r.latest}, {"versions", versions}, {"last_version", r.last_version}, {"aliases", aliases},
           {"urls", urls}, {"policies", r.policies}, {"policy_revision", r.policy_revision}};
  if (!r.event_configs.empty()) j["event_configs"] = r.event_configs;
}

void from_json(json const& j, FunctionState& r) {
  if (!j.contains("latest")) {  // the first wave's format
    j.get_to(r.latest);
    return;
  }
  j.at("latest").get_to(r.latest);
  for (auto const& v : j.at("versions")) r.versions[v.at("version").get<int>()] = v.at("record").get<FunctionRecord>();
  j.at("last_version").get_to(r.last_version);
  for (auto const& a : j.at("aliases")) {
    auto alias = a.get<AliasRecord>();
    r.aliases[alias.name] = std::move(alias);
  }
  for (auto const& u : j.at("urls")) {
    auto url = u.get<UrlConfigRecord>();
    r.urls[url.qualifier] = std::move(url);
  }
  j.at("policies").get_to(r.policies);
  j.at("policy_revision").get_to(r.policy_revision);
  if (j.contains("event_configs")) j.at("event_configs").get_to(r.event_configs);
}

void to_json(json& j, LayerVersionRecord const& r) {
  j = json{{"name", r.name},
           {"version", r.version},
           {"description", r.description},
           {"created_date", r.created_date},
           {"compatible_runtimes", r.compatible_runtimes},
           {"compatible_architectures", r.compatible_architectures},
           {"license_info", r.license_info},
           {"code_sha256", r.code_sha256_hex},
           {"code_size", r.code_size},
           {"unzipped_size", r.unzipped_size}};
  if (!r.host_path.empty()) j["host_path"] = r.host_path;
}

void from_json(json const& j, LayerVersionRecord& r) {
  j.at("name").get_to(r.name);
  j.at("version").get_to(r.version);
  j.at("description").get_to(r.description);
  j.at("created_date").get_to(r.created_date);
  j.at("compatible_runtimes").get_to(r.compatible_runtimes);
  j.at("compatible_architectures").get_to(r.compatible_architectures);
  j.at("license_info").get_to(r.license_info);
  j.at("code_sha256").get_to(r.code_sha256_hex);
  j.at("code_size").get_to(r.code_size);
  j.at("unzipped_size").get_to(r.unzipped_size);
  r.host_path = j.value("host_path", "");
}

}  // namespace lambdad::model
