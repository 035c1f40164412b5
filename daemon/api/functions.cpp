// Function handlers: CreateFunction, Get/Update/Delete, ListFunctions,
// GetAccountSettings, and the code download behind GetFunction's Location.
// On the io_context thread; storage on the store strand.
#include "control_plane.hpp"
#include "upload.hpp"

#include "util/clock.hpp"
#include "util/crypto.hpp"
#include "util/fsutil.hpp"
#include "util/offload.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// Stores the code (unless an identical tree exists) and then the record.
// On the strand. `budget` is what the function's own code may unzip to.
Result<model::FunctionRecord> store_function(store::StateDir& disk, std::string const& zip,
                                             model::FunctionRecord rec, store::UnpackLimits limits,
                                             std::uint64_t budget) {
  limits.max_bytes = budget;
  auto stored = disk.put_code(zip, rec.code_sha256_hex, limits);
  if (!stored) return stored.error();
  if (stored->unzipped_size > budget) return store::over_budget(stored->unzipped_size, budget);  // a reused tree
  rec.unzipped_size = stored->unzipped_size;
  if (stored->reused) spdlog::info("function {}: code {} already unpacked, reused", rec.name, rec.code_sha256_hex);
  if (auto w = disk.write_function(rec); !w) return w.error();
  return rec;
}

void release(std::multiset<std::string>& pending, std::string const& sha) {
  auto it = pending.find(sha);
  if (it != pending.end()) pending.erase(it);
}

std::optional<ApiError> check_revision(json const& body, model::FunctionRecord const& rec) {
  if (!body.contains("RevisionId") || body["RevisionId"].is_null()) return std::nullopt;
  if (body["RevisionId"] == rec.revision_id) return std::nullopt;
  return ApiError{412, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                  "API to retrieve the latest Revision Id",
                  {}};
}

}  // namespace

ApiError ControlPlane::update_in_progress(std::string const& name) const {
  return model::conflict("The operation cannot be performed at this time. An update is in progress for resource: " +
                         model::function_arn(cfg_.identity, name));
}

asio::awaitable<std::optional<ApiError>> ControlPlane::save_record(model::FunctionRecord rec) {
  std::string name = rec.name;
  busy_.insert(name);
  auto write = [this, rec] { return disk_.write_function(rec); };
  auto written = co_await util::offload(strand_, std::move(write));
  busy_.erase(name);
  if (!written) co_return model::service_error("lambdad could not store the function: " + written.error().message());
  functions_[name] = std::move(rec);
  co_return std::nullopt;
}

ApiError ControlPlane::unzipped_too_large() const {
  return model::invalid_parameter("Unzipped size must be smaller than " + std::to_string(cfg_.max_unzipped_bytes) +
                                  " bytes");
}

asio::awaitable<model::ApiResult<model::FunctionRecord>> ControlPlane::store_code(model::FunctionRecord rec,
                                                                                  std::string zip) {
  std::uint64_t layers_size = layers_unzipped(rec);
  if (layers_size >= cfg_.max_unzipped_bytes) co_return unzipped_too_large();
  std::uint64_t budget = cfg_.max_unzipped_bytes - layers_size;
  std::string name = rec.name;
  std::string sha = rec.code_sha256_hex;
  busy_.insert(name);
  pending_shas_.insert(sha);
  auto limits = cfg_.unpack;
  auto job = [this, zip = std::move(zip), rec, limits, budget] {
    return store_function(disk_, zip, rec, limits, budget);
  };
  auto stored = co_await util::offload(strand_, std::move(job));
  busy_.erase(name);
  release(pending_shas_, sha);
  if (!stored) {
    collect_garbage();  // a tree may have been unpacked for the refused request
    auto const& err = stored.error();
    if (store::is_too_large(err)) co_return unzipped_too_large();
    co_return unzip_error(err, cfg_.max_unzipped_bytes);
  }
  co_return *stored;
}

json ControlPlane::function_configuration(model::FunctionRecord const& r) const {
  json j = {{"FunctionName", r.name},
            {"FunctionArn", model::function_arn(cfg_.identity, r.name)},
            {"Runtime", r.runtime},
            {"Role", r.role},
            {"Handler", r.handler},
            {"CodeSize", r.code_size},
            {"Description", r.description},
            {"Timeout", r.timeout},
            {"MemorySize", r.memory_size},
            {"LastModified", r.last_modified},
            {"CodeSha256", util::base64_encode(util::from_hex(r.code_sha256_hex))},
            {"Version", "$LATEST"},
            {"TracingConfig", {{"Mode", "PassThrough"}}},
            {"RevisionId", r.revision_id},
            {"State", "Active"},
            {"LastUpdateStatus", "Successful"},
            {"PackageType", "Zip"},
            {"Architectures", json::array({r.architecture})},
            {"EphemeralStorage", {{"Size", r.ephemeral_storage}}},
            {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
            {"LoggingConfig", {{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + r.name}}}};
  if (r.environment) j["Environment"] = {{"Variables", *r.environment}};
  if (!r.layers.empty()) {
    json layers = json::array();
    for (auto const& l : r.layers) layers.push_back({{"Arn", l.arn}, {"CodeSize", l.code_size}});
    j["Layers"] = layers;
  }
  return j;
}

std::string ControlPlane::code_location(Call const& call, std::string const& sha_hex) const {
  std::string host(call.req[bhttp::field::host]);
  if (host.empty()) host = "127.0.0.1";
  return "http://" + host + "/_lambdad/code/" + sha_hex + ".zip";
}

asio::awaitable<Response> ControlPlane::create_function(Call call) {
  std::uint64_t max_zip = cfg_.max_zip_bytes;
  auto decode = [body = std::move(call.req.body()), max_zip]() mutable {
    return decode_upload(std::move(body), "Code", max_zip);
  };
  Upload up = co_await util::offload(pool_.get_executor(), std::move(decode));
  if (up.error) co_return error_response(call, *up.error);
  json const& body = up.doc;
  if (!body.contains("FunctionName") || !body["FunctionName"].is_string())
    co_return error_response(call, model::validation("null", "functionName", "Member must not be null"));
  auto ref = model::parse_new_function_name(body["FunctionName"].get<std::string>());
  if (!ref) co_return error_response(call, ref.error());
  std::string name = ref->name;
  if (functions_.count(name) || busy_.count(name))
    co_return error_response(call, model::conflict("Function already exist: " + name));
  model::FunctionRecord rec;
  rec.name = name;
  if (auto e = model::apply_function_config(body, rec, true, cfg_.identity, host_)) co_return error_response(call, *e);
  if (auto e = resolve_layers(rec)) co_return error_response(call, *e);
  if (!up.has_zip)
    co_return error_response(call, model::invalid_parameter(
        "lambdad takes function code as Code.ZipFile only; S3Bucket/S3Key and ImageUri are not supported."));
  rec.code_sha256_hex = up.sha_hex;
  rec.code_size = up.zip.size();
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  auto stored = co_await store_code(rec, std::move(up.zip));
  if (!stored) co_return error_response(call, stored.error());
  functions_[name] = *stored;
  spdlog::info("function {}: created (code {} bytes, sha256 {})", name, rec.code_size, rec.code_sha256_hex);
  co_return json_response(call, 201, function_configuration(*stored));
}

asio::awaitable<Response> ControlPlane::update_function_code(Call call, std::string name_text) {
  auto resolved = resolve_function(name_text, std::nullopt);
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  std::uint64_t max_zip = cfg_.max_zip_bytes;
  auto decode = [body = std::move(call.req.body()), max_zip]() mutable {
    return decode_upload(std::move(body), "", max_zip);
  };
  Upload up = co_await util::offload(pool_.get_executor(), std::move(decode));
  if (up.error) co_return error_response(call, *up.error);
  auto it = functions_.find(name);  // looked up again: the function may have gone meanwhile
  if (it == functions_.end())
    co_return error_response(call, model::not_found("Function not found: " + model::function_arn(cfg_.identity, name)));
  if (busy_.count(name))
    co_return error_response(call, update_in_progress(name));
  if (auto e = check_revision(up.doc, it->second)) co_return error_response(call, *e);
  if (!up.has_zip)
    co_return error_response(call, model::invalid_parameter("Please provide a source for function code."));
  model::FunctionRecord rec = it->second;
  if (up.doc.contains("Architectures"))
    if (auto e = model::apply_function_config(json{{"Architectures", up.doc["Architectures"]}}, rec, false,
                                              cfg_.identity, host_))
      co_return error_response(call, *e);
  if (up.doc.value("DryRun", false)) co_return json_response(call, 200, function_configuration(rec));
  rec.code_sha256_hex = up.sha_hex;
  rec.code_size = up.zip.size();
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  auto stored = co_await store_code(rec, std::move(up.zip));
  if (!stored) co_return error_response(call, stored.error());
  functions_[name] = *stored;
  if (invoker_) invoker_->retire_function(name);
  collect_garbage();
  spdlog::info("function {}: code updated (sha256 {})", name, rec.code_sha256_hex);
  co_return json_response(call, 200, function_configuration(*stored));
}

asio::awaitable<Response> ControlPlane::update_function_configuration(Call call, std::string name_text) {
  auto resolved = resolve_function(name_text, std::nullopt);
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (busy_.count(name))
    co_return error_response(call, update_in_progress(name));
  model::FunctionRecord rec = functions_.at(name);
  if (auto e = check_revision(body, rec)) co_return error_response(call, *e);
  if (auto e = model::apply_function_config(body, rec, false, cfg_.identity, host_)) co_return error_response(call, *e);
  if (auto e = resolve_layers(rec)) co_return error_response(call, *e);
  if (layers_unzipped(rec) + rec.unzipped_size > cfg_.max_unzipped_bytes)
    co_return error_response(call, unzipped_too_large());
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  auto failed = co_await save_record(rec);
  if (failed) co_return error_response(call, *failed);
  if (invoker_) invoker_->retire_function(name);
  collect_garbage();
  co_return json_response(call, 200, function_configuration(rec));
}

asio::awaitable<Response> ControlPlane::delete_function(Call call, std::string name_text) {
  std::optional<std::string> qualifier;
  if (call.query.count("Qualifier")) qualifier = call.query["Qualifier"];
  auto resolved = resolve_function(name_text, qualifier);
  if (!resolved) co_return error_response(call, resolved.error());
  if (auto err = co_await remove_function(*resolved)) co_return error_response(call, *err);
  co_return empty_response(call, 204);
}

asio::awaitable<std::optional<ApiError>> ControlPlane::remove_function(std::string name) {
  if (busy_.count(name)) co_return update_in_progress(name);
  busy_.insert(name);
  auto job = [this, name] { return disk_.remove_function(name); };
  auto removed = co_await util::offload(strand_, std::move(job));
  busy_.erase(name);
  if (!removed) co_return model::service_error("lambdad could not delete the function: " + removed.error().message());
  functions_.erase(name);
  history_.erase(name);
  metrics_.erase(name);  // its series end, as a deleted function's do
  if (invoker_) invoker_->retire_function(name);
  collect_garbage();
  spdlog::info("function {}: deleted", name);
  co_return std::nullopt;
}

Response ControlPlane::get_function(Call const& call, std::string const& name_text) const {
  std::optional<std::string> qualifier;
  if (call.query.count("Qualifier")) qualifier = call.query.at("Qualifier");
  auto resolved = resolve_function(name_text, qualifier);
  if (!resolved) return error_response(call, resolved.error());
  auto const& rec = functions_.at(*resolved);
  json out = {{"Configuration", function_configuration(rec)},
              {"Code", {{"RepositoryType", "S3"}, {"Location", code_location(call, rec.code_sha256_hex)}}}};
  if (!rec.tags.empty()) out["Tags"] = rec.tags;
  if (rec.reserved_concurrency) out["Concurrency"] = {{"ReservedConcurrentExecutions", *rec.reserved_concurrency}};
  return json_response(call, 200, out);
}

Response ControlPlane::get_function_configuration(Call const& call, std::string const& name_text) const {
  std::optional<std::string> qualifier;
  if (call.query.count("Qualifier")) qualifier = call.query.at("Qualifier");
  auto resolved = resolve_function(name_text, qualifier);
  if (!resolved) return error_response(call, resolved.error());
  return json_response(call, 200, function_configuration(functions_.at(*resolved)));
}

Response ControlPlane::list_functions(Call const& call) const {
  long max_items = 50;
  if (call.query.count("MaxItems")) {
    auto const& text = call.query.at("MaxItems");
    char* end = nullptr;
    max_items = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || max_items < 1 || max_items > 10000)
      return error_response(call, model::validation(text, "maxItems", "Member must have value between 1 and 10000"));
  }
  max_items = std::min(max_items, 50L);  // Lambda returns at most 50 a page
  auto it = functions_.begin();
  if (call.query.count("Marker")) {
    auto marker = util::base64_decode(call.query.at("Marker"));
    if (!marker) return error_response(call, model::invalid_parameter("Invalid Marker: " + call.query.at("Marker")));
    it = functions_.lower_bound(*marker);
  }
  json list = json::array();
  for (; it != functions_.end() && static_cast<long>(list.size()) < max_items; ++it)
    list.push_back(function_configuration(it->second));
  json out = {{"Functions", list}};
  if (it != functions_.end()) out["NextMarker"] = util::base64_encode(it->first);
  return json_response(call, 200, out);
}

Response ControlPlane::get_account_settings(Call const& call) const {
  std::uint64_t total = 0;
  long reserved = 0;
  for (auto const& [name, f] : functions_) {
    total += f.code_size;
    reserved += f.reserved_concurrency.value_or(0);
  }
  for (auto const& [name, versions] : layers_)
    for (auto const& [v, l] : versions) total += l.code_size;
  json out = {{"AccountLimit",
               {{"TotalCodeSize", 80530636800ULL},
                {"CodeSizeUnzipped", cfg_.max_unzipped_bytes},
                {"CodeSizeZipped", cfg_.max_zip_bytes},
                {"ConcurrentExecutions", max_concurrency()},
                {"UnreservedConcurrentExecutions", std::max(0L, max_concurrency() - reserved)}}},
              {"AccountUsage", {{"TotalCodeSize", total}, {"FunctionCount", functions_.size()}}}};
  return json_response(call, 200, out);
}

asio::awaitable<Response> ControlPlane::get_code(Call call) {
  std::string file = call.segs[2];
  bool ok = file.size() == 68 && file.ends_with(".zip");
  for (std::size_t i = 0; ok && i < 64; ++i) ok = std::isxdigit(static_cast<unsigned char>(file[i])) != 0;
  if (!ok) co_return error_response(call, model::not_found("No such code archive: " + file));
  auto path = disk_.blob_path(file.substr(0, 64));
  auto job = [path] { return util::read_file(path); };
  auto data = co_await util::offload(strand_, std::move(job));
  if (!data) co_return error_response(call, model::not_found("No such code archive: " + file));
  Response res{bhttp::status::ok, call.req.version()};
  res.set(bhttp::field::content_type, "application/zip");
  res.set("x-amzn-RequestId", call.request_id);
  res.body() = std::move(*data);
  co_return res;
}

}  // namespace lambdad::api
