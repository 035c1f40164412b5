#include "upload.hpp"

#include "util/crypto.hpp"

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

namespace {

// A JSON parse of a 70 MB body spends most of its time copying the base64
// string character by character. Find the ZipFile string first (base64 needs
// no JSON escapes) and parse only the small rest into `doc`. Returns where the
// base64 text sits in `body`, or std::nullopt to fall back to a full parse
// when the body is anything but plain.
std::optional<std::string_view> cut_zipfile(std::string const& body, std::string const& container, json& doc) {
  auto skip_ws = [&](std::size_t p) {
    while (p < body.size() && (body[p] == ' ' || body[p] == '\t' || body[p] == '\n' || body[p] == '\r')) ++p;
    return p;
  };
  std::size_t key = body.find("\"ZipFile\"");
  if (key == std::string::npos) return std::nullopt;
  std::size_t p = skip_ws(key + 9);
  if (p >= body.size() || body[p] != ':') return std::nullopt;
  p = skip_ws(p + 1);
  if (p >= body.size() || body[p] != '"') return std::nullopt;
  std::size_t start = p + 1;
  std::size_t end = body.find('"', start);
  if (end == std::string::npos || body.find('\\', start) < end) return std::nullopt;
  std::string rest;
  rest.reserve(body.size() - (end - start));
  rest.append(body, 0, start).append(body, end, std::string::npos);
  try {
    doc = json::parse(rest);
  } catch (json::parse_error const&) {
    return std::nullopt;
  }
  // Make sure the string cut out was the ZipFile this request means.
  json* holder = container.empty() ? &doc : (doc.is_object() && doc.contains(container) ? &doc[container] : nullptr);
  if (!holder || !holder->is_object() || !holder->contains("ZipFile") || (*holder)["ZipFile"] != "")
    return std::nullopt;
  holder->erase("ZipFile");
  return std::string_view(body).substr(start, end - start);
}

std::optional<model::ApiError> decode_zip(std::string_view b64, std::uint64_t max_zip_bytes, Upload& up) {
  auto decoded = util::base64_decode(b64);
  if (!decoded) return model::invalid_request_content("Could not parse request body into json: ZipFile is not valid base64");
  if (decoded->size() > max_zip_bytes)
    return model::ApiError{413, "RequestEntityTooLargeException",
                           "Zipped file size " + std::to_string(decoded->size()) + " exceeds the limit of " +
                               std::to_string(max_zip_bytes) + " bytes for a direct upload",
                           {}};
  up.has_zip = true;
  up.zip = std::move(*decoded);
  up.sha_hex = util::to_hex(util::sha256(up.zip));
  return std::nullopt;
}

}  // namespace

Upload decode_upload(std::string body, std::string const& container, std::uint64_t max_zip_bytes) {
  Upload up;
  if (auto b64 = cut_zipfile(body, container, up.doc)) {
    up.error = decode_zip(*b64, max_zip_bytes, up);
    return up;
  }
  if (auto e = parse_json_body(body, up.doc)) {
    up.error = e;
    return up;
  }
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
  auto const& field = (*holder)["ZipFile"];
  if (!field.is_string()) {
    up.error = model::invalid_request_content("Could not parse request body into json: ZipFile must be a base64 string");
    return up;
  }
  up.error = decode_zip(field.get_ref<std::string const&>(), max_zip_bytes, up);
  holder->erase("ZipFile");
  return up;
}

}  // namespace lambdad::api
