// The persistent records of the control plane: a function's $LATEST
// configuration and a layer version. Plain data with JSON (de)serialization;
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
};

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
  std::string last_modified;
  std::string revision_id;
  std::map<std::string, std::string> tags;
  std::optional<int> reserved_concurrency;
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
};

void to_json(nlohmann::json& j, LayerRef const& r);
void from_json(nlohmann::json const& j, LayerRef& r);
void to_json(nlohmann::json& j, FunctionRecord const& r);
void from_json(nlohmann::json const& j, FunctionRecord& r);
void to_json(nlohmann::json& j, LayerVersionRecord const& r);
void from_json(nlohmann::json const& j, LayerVersionRecord& r);

}  // namespace lambdad::model
