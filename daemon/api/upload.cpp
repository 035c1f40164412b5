#include "upload.hpp"

#include "../util/crypto.hpp"

namespace lambdad::api {

using nlohmann::json;

std::optional<model::ApiError> parse_json_body(std::string const& body, json& out) {
  if (body.empty()) {
    out = json::object();
    return std::nullopt;
  }
  try {
    out = json::parse(body);
  } catch (json::parse_error const& e) {
    return model::invalid_request_content(std::string("Could not parse request body into json: ") + e.what());
  }
  if (!out.is_object()) return model::invalid_request_content("Could not parse request body into json: not an object");
  return std::nullopt;
}

Upload decode_upload(std::string body, std::string const& container, std::uint64_t max_zip_bytes) {
  Upload up;
  if (auto e = parse_json_body(body, up.doc)) {
    up.error = e;
    return up;
  }
  body.clear();
  body.shrink_to_fit();
  json* holder = &up.doc;
  if (!container.empty()) {
    if (!up.doc.contains(container) || up.doc[container].is_null()) return up;
    holder = &up.doc[container];
    if (!holder->is_object()) {
      up.error = model::invalid_request_content("Could not parse request body into json: " + container +
                                                " must be an object");
      return up;
    }
  }
  if (!holder->contains("ZipFile") || (*holder)["ZipFile"].is_null()) return up;
  auto& field = (*holder)["ZipFile"];
  if (!field.is_string()) {
    up.error = model::invalid_request_content("Could not parse request body into json: ZipFile must be a base64 string");
    return up;
  }
  auto decoded = util::base64_decode(field.get_ref<std::string const&>());
  holder->erase("ZipFile");
  if (!decoded) {
    up.error = model::invalid_request_content("Could not parse request body into json: ZipFile is not valid base64");
    return up;
  }
  if (decoded->size() > max_zip_bytes) {
    up.error = model::ApiError{413, "RequestEntityTooLargeException",
                               "Zipped file size " + std::to_string(decoded->size()) + " exceeds the limit of " +
                                   std::to_string(max_zip_bytes) + " bytes for a direct upload",
                               {}};
    return up;
  }
  up.has_zip = true;
  up.zip = std::move(*decoded);
  up.sha_hex = util::to_hex(util::sha256(up.zip));
  return up;
}

}  // namespace lambdad::api
