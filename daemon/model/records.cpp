#include "records.hpp"

namespace lambdad::model {

using nlohmann::json;

void to_json(json& j, LayerRef const& r) {
  j = json{{"arn", r.arn}, {"sha256", r.sha_hex}, {"code_size", r.code_size}, {"unzipped_size", r.unzipped_size}};
}

void from_json(json const& j, LayerRef& r) {
  j.at("arn").get_to(r.arn);
  j.at("sha256").get_to(r.sha_hex);
  j.at("code_size").get_to(r.code_size);
  j.at("unzipped_size").get_to(r.unzipped_size);
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
}

}  // namespace lambdad::model
