// Decoding of a request that carries a zip as base64 inside JSON
// (CreateFunction's Code.ZipFile, UpdateFunctionCode's ZipFile,
// PublishLayerVersion's Content.ZipFile). CPU-bound: runs on the pool.
#pragma once

#include "../model/api_error.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace lambdad::api {

struct Upload {
  std::optional<model::ApiError> error;
  nlohmann::json doc;  // the request body, without the zip
  bool has_zip = false;
  std::string zip;
  std::string sha_hex;
};

// `container` is the object holding ZipFile ("Code", "Content"), or empty
// when ZipFile is a top-level field.
Upload decode_upload(std::string body, std::string const& container, std::uint64_t max_zip_bytes);

// Parses a small JSON body; an empty body is an empty object.
std::optional<model::ApiError> parse_json_body(std::string const& body, nlohmann::json& out);

}  // namespace lambdad::api
