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
Result<model::FunctionState> store_function(store::StateDir& disk, std::string const& zip,
                                            model::FunctionState state, store::UnpackLimits limits,
                                            std::uint64_t budget) {
  auto& rec = state.latest;
  limits.max_bytes = budget;
  auto stored = disk.put_code(zip, rec.code_sha256_hex, limits);
  if (!stored) return stored.error();
  if (stored->unzipped_size > budget) return store::over_budget(stored->unzipped_size, budget);  // a reused tree
  rec.unzipped_size = stored->unzipped_size;
  for (auto& [n, v] : state.versions)  // one just published with this code (Publish: true)
    if (v.code_sha256_hex == rec.code_sha256_hex) v.unzipped_size = rec.unzipped_size;
  if (stored->reused) spdlog::info("function {}: code {} already unpacked, reused", rec.name, rec.code_sha256_hex);
  if (auto w = disk.write_function(state); !w) return w.error();
  return state;
}

std::optional<ApiError> check_revision(json const& body, model::FunctionRecord const& rec) {
  if (!body.contains("RevisionId") || body["RevisionId"].is_null()) return std::nullopt;
  if (body["RevisionId"] == rec.revision_id) return std::nullopt;
  return ApiError{412, "PreconditionFailedException",
                  "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                  "API to retrieve the latest Revision Id",
                  {}};
}

// What a function's code is, for the daemon's log.
std::string code_summary(model::FunctionRecord const& r, std::size_t size) {
  if (!r.code_host_path.empty()) return "hot-reloaded from " + r.code_host_path;
  return std::to_string(size) + " bytes, sha256 " + r.code_sha256_hex;
}

// LoggingConfig as AWS returns it: the levels in JSON format only, the
// log group always (the default one when none was set).
json logging_config_json(model::FunctionRecord const& r) {
  json j = {{"LogFormat", r.logging.log_format}, {"LogGroup", model::log_group_of(r.name, r.logging)}};
  if (r.logging.json()) {
    j["ApplicationLogLevel"] = r.logging.application_log_level;
    j["SystemLogLevel"] = r.logging.system_log_level;
  }
  return j;
}

}  // namespace

ApiError ControlPlane::update_in_progress(std::string const& name) const {
  return model::conflict("The operation cannot be performed at this time. An update is in progress for resource: " +
                         model::function_arn(cfg_.identity, name));
}

asio::awaitable<std::optional<ApiError>> ControlPlane::save_state(model::FunctionState state, bool code_changed) {
  std::string name = state.latest.name;
  functions_.mark_busy(name);
  auto write = [this, state] { return disk_.write_function(state); };
  auto written = co_await util::offload(strand_, std::move(write));
  functions_.unmark_busy(name);
  if (!written) co_return storage_error("store the function", written.error());
  functions_.put(std::move(state), code_changed);
  co_return std::nullopt;
}

ApiError ControlPlane::unzipped_too_large() const {
  return model::invalid_parameter("Unzipped size must be smaller than " + std::to_string(cfg_.max_unzipped_bytes) +
                                  " bytes");
}

asio::awaitable<model::ApiResult<model::FunctionState>> ControlPlane::store_code(model::FunctionState state,
                                                                                 std::string zip) {
  auto const& rec = state.latest;
  if (!rec.code_host_path.empty()) {  // hot reload: only the record
    std::string name = rec.name;
    functions_.mark_busy(name);
    auto write = [this, state] { return disk_.write_function(state); };
    auto written = co_await util::offload(strand_, std::move(write));
    functions_.unmark_busy(name);
    if (!written) co_return storage_error("store the function", written.error());
    co_return state;
  }
  std::uint64_t layers_size = layers_unzipped(rec);
  if (layers_size >= cfg_.max_unzipped_bytes) co_return unzipped_too_large();
  std::uint64_t budget = cfg_.max_unzipped_bytes - layers_size;
  std::string name = rec.name;
  std::string sha = rec.code_sha256_hex;
  functions_.mark_busy(name);
  functions_.hold(sha);
  auto limits = cfg_.unpack;
  auto job = [this, zip = std::move(zip), state, limits, budget] {
    return store_function(disk_, zip, state, limits, budget);
  };
  auto stored = co_await util::offload(strand_, std::move(job));
  functions_.unmark_busy(name);
  functions_.release(sha);
  if (!stored) {
    collect_garbage();  // a tree may have been unpacked for the refused request
    auto const& err = stored.error();
    if (store::is_too_large(err)) co_return unzipped_too_large();
    co_return unzip_error(err, cfg_.max_unzipped_bytes);
  }
  co_return *stored;
}

json ControlPlane::function_configuration(model::FunctionRecord const& r, std::string const& version,
                                          std::string const& arn) const {
  json j = {{"FunctionName", r.name},
            {"FunctionArn", arn.empty() ? model::function_arn(cfg_.identity, r.name) : arn},
            {"Runtime", r.runtime},
            {"Role", r.role},
            {"Handler", r.handler},
            {"CodeSize", r.code_size},
            {"Description", r.description},
            {"Timeout", r.timeout},
            {"MemorySize", r.memory_size},
            {"LastModified", r.last_modified},
            {"CodeSha256", r.code_host_path.empty() ? util::base64_encode(util::from_hex(r.code_sha256_hex))
                                                    : std::string(reload::kCodeSha256)},
            {"Version", version},
            {"TracingConfig", {{"Mode", "PassThrough"}}},
            {"RevisionId", r.revision_id},
            {"State", "Active"},
            {"LastUpdateStatus", "Successful"},
            {"PackageType", "Zip"},
            {"Architectures", json::array({r.architecture})},
            {"EphemeralStorage", {{"Size", r.ephemeral_storage}}},
            {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
            {"LoggingConfig", logging_config_json(r)}};
  if (r.environment) j["Environment"] = {{"Variables", *r.environment}};
  if (!r.dead_letter_target.empty()) j["DeadLetterConfig"] = {{"TargetArn", r.dead_letter_target}};
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
  if (functions_.exists_or_busy(name))
    co_return error_response(call, model::conflict("Function already exist: " + name));
  model::FunctionState state;
  auto& rec = state.latest;
  rec.name = name;
  if (auto e = model::apply_function_config(body, rec, true, cfg_.identity, host_)) co_return error_response(call, *e);
  if (auto e = resolve_layers(rec)) co_return error_response(call, *e);
  if (auto e = take_code(up, body.contains("Code") ? body["Code"] : json(), rec,
                         "lambdad takes function code as Code.ZipFile, or S3Bucket \"hot-reload\" with S3Key a host "
                         "directory; other S3Bucket/S3Key and ImageUri are not supported."))
    co_return error_response(call, *e);
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  bool publish = body.value("Publish", false);
  // Publish: true makes version 1 at once; the answer is $LATEST's
  // configuration naming that version (AWS-recorded, LocalStack's snapshots).
  if (publish) registry::publish_version(state, std::nullopt, util::uuid4(), rec.last_modified);
  std::size_t code_size = rec.code_size;
  auto stored = co_await store_code(std::move(state), std::move(up.zip));
  if (!stored) co_return error_response(call, stored.error());
  functions_.put(*stored);
  spdlog::info("function {}: created (code {}){}", name, code_summary(stored->latest, code_size),
               publish ? ", version 1 published" : "");
  json out = function_configuration(stored->latest);
  if (publish) out["Version"] = "1";
  co_return json_response(call, 201, out);
}

asio::awaitable<Response> ControlPlane::update_function_code(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  std::uint64_t max_zip = cfg_.max_zip_bytes;
  auto decode = [body = std::move(call.req.body()), max_zip]() mutable {
    return decode_upload(std::move(body), "", max_zip);
  };
  Upload up = co_await util::offload(pool_.get_executor(), std::move(decode));
  if (up.error) co_return error_response(call, *up.error);
  auto const* current = functions_.find(name);  // looked up again: the function may have gone meanwhile
  if (!current)
    co_return error_response(call, model::not_found("Function not found: " + functions_.arn(name)));
  if (functions_.busy(name))
    co_return error_response(call, update_in_progress(name));
  if (auto e = check_revision(up.doc, current->latest)) co_return error_response(call, *e);
  model::FunctionState state = *current;
  auto& rec = state.latest;
  if (auto e = take_code(up, up.doc, rec, "Please provide a source for function code.")) co_return error_response(call, *e);
  if (up.doc.contains("Architectures"))
    if (auto e = model::apply_function_config(json{{"Architectures", up.doc["Architectures"]}}, rec, false,
                                              cfg_.identity, host_))
      co_return error_response(call, *e);
  if (up.doc.value("DryRun", false)) co_return json_response(call, 200, function_configuration(rec));
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  // Publish: true answers with the new version (AWS-recorded).
  std::optional<int> published;
  if (up.doc.value("Publish", false))
    published = registry::publish_version(state, std::nullopt, util::uuid4(), rec.last_modified);
  auto stored = co_await store_code(std::move(state), std::move(up.zip));
  if (!stored) co_return error_response(call, stored.error());
  functions_.put(*stored);
  collect_garbage();
  spdlog::info("function {}: code updated ({})", name, code_summary(stored->latest, stored->latest.code_size));
  if (published) {
    auto v = std::to_string(*published);
    co_return json_response(call, 200,
                            function_configuration(stored->versions.at(*published), v, functions_.arn(name, v)));
  }
  co_return json_response(call, 200, function_configuration(stored->latest));
}

asio::awaitable<Response> ControlPlane::update_function_configuration(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (functions_.busy(name))
    co_return error_response(call, update_in_progress(name));
  model::FunctionRecord rec = functions_.find(name)->latest;
  if (auto e = check_revision(body, rec)) co_return error_response(call, *e);
  if (auto e = model::apply_function_config(body, rec, false, cfg_.identity, host_)) co_return error_response(call, *e);
  if (auto e = resolve_layers(rec)) co_return error_response(call, *e);
  if (layers_unzipped(rec) + rec.unzipped_size > cfg_.max_unzipped_bytes)
    co_return error_response(call, unzipped_too_large());
  rec.last_modified = util::aws_timestamp_now();
  rec.revision_id = util::uuid4();
  auto failed = co_await save_record(rec);
  if (failed) co_return error_response(call, *failed);
  collect_garbage();
  co_return json_response(call, 200, function_configuration(rec));
}

asio::awaitable<Response> ControlPlane::delete_function(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) {
    // A version that is not there (of a function that is): nothing to do, as on AWS.
    auto ref = model::parse_function_ref(call.param("name"));
    auto q = qualifier_of(call);
    bool version = q && !q->empty() && std::all_of(q->begin(), q->end(), [](unsigned char ch) { return std::isdigit(ch); });
    if (ref && version && functions_.contains(ref->name) && target.error().status == 404)
      co_return empty_response(call, 204);
    co_return error_response(call, target.error());
  }
  if (target->qualifier == registry::kLatest)
    co_return error_response(call, model::invalid_parameter(
        "$LATEST version cannot be deleted without deleting the function."));
  if (!target->qualifier.empty()) {
    auto err = co_await delete_version(*target);
    if (err) co_return error_response(call, *err);
    co_return empty_response(call, 204);
  }
  if (auto err = co_await remove_function(target->name)) co_return error_response(call, *err);
  co_return empty_response(call, 204);
}

asio::awaitable<std::optional<ApiError>> ControlPlane::remove_function(std::string name) {
  if (functions_.busy(name)) co_return update_in_progress(name);
  functions_.mark_busy(name);
  auto job = [this, name]() -> Result<void> {
    if (auto r = disk_.remove_function(name); !r) return r;
    return test_events_.remove_all(name);  // the console's private test events go with their function
  };
  auto removed = co_await util::offload(strand_, std::move(job));
  functions_.unmark_busy(name);
  if (!removed) co_return model::service_error("lambdad could not delete the function: " + removed.error().message());
  functions_.erase(name);
  history_.erase(name);
  metrics_.erase(name);  // its series end, as a deleted function's do
  collect_garbage();
  spdlog::info("function {}: deleted", name);
  co_return std::nullopt;
}

json ControlPlane::target_configuration(registry::Target const& t) const {
  // A bare name answers with the unqualified ARN; a qualifier, with the
  // ARN it named (an alias's ARN for an alias), Version what it runs.
  return function_configuration(*t.record, t.version, t.arn);
}

asio::awaitable<Response> ControlPlane::get_function(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) co_return error_response(call, target.error());
  auto const& rec = *target->record;
  auto const& latest = functions_.find(target->name)->latest;
  json out = {{"Configuration", target_configuration(*target)},
              {"Code", {{"RepositoryType", "S3"},
                        {"Location", rec.code_host_path.empty() ? code_location(call, rec.code_sha256_hex)
                                                                : "Code location: " + rec.code_host_path}}}};
  if (!latest.tags.empty()) out["Tags"] = latest.tags;
  if (latest.reserved_concurrency)
    out["Concurrency"] = {{"ReservedConcurrentExecutions", *latest.reserved_concurrency}};
  co_return json_response(call, 200, out);
}

asio::awaitable<Response> ControlPlane::get_function_configuration(Call call) {
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) co_return error_response(call, target.error());
  co_return json_response(call, 200, target_configuration(*target));
}

asio::awaitable<Response> ControlPlane::list_functions(Call call) {
  long max_items = 50;
  if (call.query.count("MaxItems")) {
    auto const& text = call.query.at("MaxItems");
    char* end = nullptr;
    max_items = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || max_items < 1 || max_items > 10000)
      co_return error_response(call, model::validation(text, "maxItems", "Member must have value between 1 and 10000"));
  }
  max_items = std::min(max_items, 50L);  // Lambda returns at most 50 a page
  // FunctionVersion=ALL lists every published version too, after each $LATEST.
  bool all_versions = call.query.count("FunctionVersion") && call.query.at("FunctionVersion") == "ALL";
  auto const& functions = functions_.all();
  auto it = functions.begin();
  if (call.query.count("Marker")) {
    auto marker = util::base64_decode(call.query.at("Marker"));
    if (!marker)
      co_return error_response(call, model::invalid_parameter("Invalid Marker: " + call.query.at("Marker")));
    it = functions.lower_bound(*marker);
  }
  json list = json::array();
  for (; it != functions.end() && static_cast<long>(list.size()) < max_items; ++it) {
    list.push_back(function_configuration(it->second.latest));
    if (!all_versions) continue;
    for (auto const& [n, v] : it->second.versions)
      list.push_back(function_configuration(v, std::to_string(n), functions_.arn(it->first, std::to_string(n))));
  }
  json out = {{"Functions", list}};
  if (it != functions.end()) out["NextMarker"] = util::base64_encode(it->first);
  co_return json_response(call, 200, out);
}

asio::awaitable<Response> ControlPlane::get_account_settings(Call call) {
  std::uint64_t total = 0;
  long reserved = 0;
  for (auto const& [name, state] : functions_.all()) {
    total += state.latest.code_size;
    for (auto const& [n, v] : state.versions) total += v.code_size;
    reserved += state.latest.reserved_concurrency.value_or(0);
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
  co_return json_response(call, 200, out);
}

asio::awaitable<Response> ControlPlane::get_code(Call call) {
  std::string file = call.param("file");
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
