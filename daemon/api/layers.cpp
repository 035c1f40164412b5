// Layer handlers: PublishLayerVersion, ListLayerVersions (newest first),
// GetLayerVersion, GetLayerVersionByArn, DeleteLayerVersion, ListLayers.
// Version numbers are never reused, even after a delete, as on Lambda.
#include "control_plane.hpp"
#include "upload.hpp"

#include "util/clock.hpp"
#include "util/crypto.hpp"
#include "util/offload.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;

namespace {

Result<model::LayerVersionRecord> store_layer(store::StateDir& disk, std::string const& zip,
                                              model::LayerVersionRecord rec, store::UnpackLimits limits) {
  auto stored = disk.put_code(zip, rec.code_sha256_hex, limits);
  if (!stored) return stored.error();
  if (stored->unzipped_size > limits.max_bytes) return store::over_budget(stored->unzipped_size, limits.max_bytes);
  rec.unzipped_size = stored->unzipped_size;
  if (auto w = disk.write_layer(rec); !w) return w.error();
  return rec;
}

bool matches_filters(model::LayerVersionRecord const& rec, Call const& call) {
  auto has = [](std::vector<std::string> const& v, std::string const& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  if (call.query.count("CompatibleRuntime") && !has(rec.compatible_runtimes, call.query.at("CompatibleRuntime")))
    return false;
  if (call.query.count("CompatibleArchitecture") &&
      !has(rec.compatible_architectures, call.query.at("CompatibleArchitecture")))
    return false;
  return true;
}

std::optional<int> parse_version(std::string const& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoi(text);
}

}  // namespace

json ControlPlane::layer_version_json(model::LayerVersionRecord const& r, bool with_content, Call const& call) const {
  auto const& id = cfg_.identity;
  json j = {{"LayerVersionArn", model::layer_version_arn(id, r.name, r.version)},
            {"Version", r.version},
            {"Description", r.description},
            {"CreatedDate", r.created_date},
            {"CompatibleRuntimes", r.compatible_runtimes},
            {"CompatibleArchitectures", r.compatible_architectures}};
  if (!r.license_info.empty()) j["LicenseInfo"] = r.license_info;
  if (with_content) {
    j["LayerArn"] = model::layer_arn(id, r.name);
    if (!r.host_path.empty())
      j["Content"] = {{"Location", "Code location: " + r.host_path},
                      {"CodeSha256", reload::kCodeSha256},
                      {"CodeSize", 0}};
    else
      j["Content"] = {{"Location", code_location(call, r.code_sha256_hex)},
                      {"CodeSha256", util::base64_encode(util::from_hex(r.code_sha256_hex))},
                      {"CodeSize", r.code_size}};
  }
  return j;
}

asio::awaitable<Response> ControlPlane::publish_layer_version(Call call) {
  auto name = model::parse_layer_name(call.param("layer"), cfg_.identity);
  if (!name) co_return error_response(call, name.error());
  std::uint64_t max_zip = cfg_.max_zip_bytes;
  auto decode = [body = std::move(call.req.body()), max_zip]() mutable {
    return decode_upload(std::move(body), "Content", max_zip);
  };
  Upload up = co_await util::offload(pool_.get_executor(), std::move(decode));
  if (up.error) co_return error_response(call, *up.error);
  model::LayerVersionRecord rec;
  rec.name = *name;
  if (auto e = model::apply_layer_fields(up.doc, rec)) co_return error_response(call, *e);
  if (!up.has_zip) {
    auto dir = hot_reload_dir(up.doc.contains("Content") ? up.doc["Content"] : json());
    if (!dir) co_return error_response(call, dir.error());
    if (dir->empty())
      co_return error_response(call, model::invalid_parameter(
          "lambdad takes layer content as Content.ZipFile, or S3Bucket \"hot-reload\" with S3Key a host directory; "
          "other S3Bucket/S3Key are not supported."));
    rec.host_path = *dir;
  }
  rec.version = ++layer_watermarks_[rec.name];  // taken now, so concurrent publishes get distinct numbers
  rec.created_date = util::aws_timestamp_now();
  rec.code_sha256_hex = up.sha_hex;
  rec.code_size = up.zip.size();
  pending_shas_.insert(rec.code_sha256_hex);
  auto limits = cfg_.unpack;
  limits.max_bytes = cfg_.max_unzipped_bytes;
  auto job = [this, zip = std::move(up.zip), rec, limits]() -> Result<model::LayerVersionRecord> {
    if (!rec.host_path.empty()) {  // hot reload: only the record
      if (auto w = disk_.write_layer(rec); !w) return w.error();
      return rec;
    }
    return store_layer(disk_, zip, rec, limits);
  };
  auto stored = co_await util::offload(strand_, std::move(job));
  pending_shas_.erase(pending_shas_.find(rec.code_sha256_hex));
  if (!stored) {
    // Give the number back unless a later publish took the next one meanwhile.
    if (layer_watermarks_[rec.name] == rec.version) --layer_watermarks_[rec.name];
    collect_garbage();
    auto const& err = stored.error();
    if (store::is_too_large(err)) co_return error_response(call, unzipped_too_large());
    co_return error_response(call, unzip_error(err, cfg_.max_unzipped_bytes));
  }
  layers_[rec.name][rec.version] = *stored;
  spdlog::info("layer {}: published version {} ({})", rec.name, rec.version,
               rec.host_path.empty() ? "sha256 " + rec.code_sha256_hex : "hot-reloaded from " + rec.host_path);
  co_return json_response(call, 201, layer_version_json(*stored, true, call));
}

asio::awaitable<Response> ControlPlane::list_layer_versions(Call call) {
  auto name = model::parse_layer_name(call.param("layer"), cfg_.identity);
  if (!name) co_return error_response(call, name.error());
  json list = json::array();
  auto it = layers_.find(*name);
  if (it != layers_.end())
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v)
      if (matches_filters(v->second, call)) list.push_back(layer_version_json(v->second, false, call));
  co_return json_response(call, 200, {{"LayerVersions", list}});
}

asio::awaitable<Response> ControlPlane::get_layer_version(Call call) {
  co_return layer_version_response(call, call.param("layer"), call.param("version"));
}

Response ControlPlane::layer_version_response(Call const& call, std::string const& layer_text,
                                              std::string const& version_text) const {
  auto name = model::parse_layer_name(layer_text, cfg_.identity);
  if (!name) return error_response(call, name.error());
  auto version = parse_version(version_text);
  auto it = layers_.find(*name);
  if (!version || it == layers_.end() || !it->second.count(*version))
    return error_response(call, model::not_found("The resource you requested does not exist."));
  return json_response(call, 200, layer_version_json(it->second.at(*version), true, call));
}

Response ControlPlane::layer_version_by_arn(Call const& call) const {
  if (call.query.at("find") != "LayerVersion" || !call.query.count("Arn"))
    return error_response(call, model::validation(call.query.at("find"), "find",
                                                  "Member must satisfy enum value set: [LayerVersion]"));
  auto const& arn = call.query.at("Arn");
  auto ref = model::parse_layer_version_arn(arn, cfg_.identity);
  if (!ref) {
    if (arn.rfind("arn:", 0) == 0 && arn.find(":layer:") != std::string::npos)
      return error_response(call, model::not_found("The resource you requested does not exist."));
    return error_response(call, model::validation(arn, "arn",
                                                  "Member must satisfy regular expression pattern: "
                                                  "(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)"));
  }
  return layer_version_response(call, ref->name, std::to_string(ref->version));
}

asio::awaitable<Response> ControlPlane::delete_layer_version(Call call) {
  auto name = model::parse_layer_name(call.param("layer"), cfg_.identity);
  if (!name) co_return error_response(call, name.error());
  auto version = parse_version(call.param("version"));
  auto it = layers_.find(*name);
  // Deleting a version that is not there succeeds, as on Lambda.
  if (!version || it == layers_.end() || !it->second.count(*version)) co_return empty_response(call, 204);
  std::string layer = *name;
  int v = *version;
  int watermark = layer_watermarks_[layer];
  auto job = [this, layer, v, watermark] {
    return disk_.remove_layer(layer, v, watermark);
  };
  auto removed = co_await util::offload(strand_, std::move(job));
  if (!removed) co_return error_response(call, model::service_error("lambdad could not delete the layer version: " +
                                                                    removed.error().message()));
  auto again = layers_.find(layer);
  if (again != layers_.end()) {
    again->second.erase(v);
    if (again->second.empty()) layers_.erase(again);
  }
  collect_garbage();
  spdlog::info("layer {}: deleted version {}", layer, v);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::list_layers(Call call) {
  if (call.query.count("find")) co_return layer_version_by_arn(call);  // GetLayerVersionByArn
  json list = json::array();
  for (auto const& [name, versions] : layers_) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (!matches_filters(v->second, call)) continue;
      list.push_back({{"LayerName", name},
                      {"LayerArn", model::layer_arn(cfg_.identity, name)},
                      {"LatestMatchingVersion", layer_version_json(v->second, false, call)}});
      break;
    }
  }
  co_return json_response(call, 200, {{"Layers", list}});
}

}  // namespace lambdad::api
