// Routing of the control plane: one path pattern, one handler. Also the
// request id, the per-route body limits, and the shared lookups.
#include "control_plane.hpp"

#include "../auth/sigv4.hpp"
#include "util/clock.hpp"
#include "util/crypto.hpp"
#include "util/offload.hpp"

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace lambdad::api {

namespace {
// How long the history and /metrics wait for invocations still ending.
constexpr auto kRecordWait = std::chrono::seconds(10);
}  // namespace

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using bhttp::verb;

ControlPlane::ControlPlane(Config cfg, store::StateDir& disk, asio::thread_pool& pool)
    : cfg_(std::move(cfg)),
      host_(model::detect_host()),
      disk_(disk),
      pool_(pool),
      strand_(asio::make_strand(pool.get_executor())) {}

void ControlPlane::load(store::Loaded const& loaded) {
  for (auto const& f : loaded.functions) functions_[f.name] = f;
  for (auto const& l : loaded.layers) layers_[l.name][l.version] = l;
  layer_watermarks_ = loaded.layer_watermarks;
  // Before serving, synchronously: code a crash left without a record.
  auto removed = disk_.collect(referenced_shas());
  if (!removed) spdlog::warn("start-up: collecting unreferenced code: {}", removed.error().message());
  else if (!removed->empty()) spdlog::info("start-up: removed {} zip(s)/tree(s) no record references", removed->size());
}

std::set<std::string> ControlPlane::referenced_shas() const {
  std::set<std::string> keep(pending_shas_.begin(), pending_shas_.end());
  for (auto const& [name, f] : functions_) {
    keep.insert(f.code_sha256_hex);
    for (auto const& l : f.layers) keep.insert(l.sha_hex);
  }
  for (auto const& [name, versions] : layers_)
    for (auto const& [v, rec] : versions) keep.insert(rec.code_sha256_hex);
  return keep;
}

std::size_t ControlPlane::layer_version_count() const {
  std::size_t n = 0;
  for (auto const& [name, versions] : layers_) n += versions.size();
  return n;
}

std::uint64_t ControlPlane::body_limit(http::RequestHeader const& h) const {
  // Invoke payloads: 6 MB; a larger one is refused before it is read.
  if (std::string_view(h.target()).find("/invocations") != std::string_view::npos)
    return std::max(cfg_.max_payload_bytes, cfg_.max_event_payload_bytes);
  return cfg_.max_request_bytes;
}

namespace {

std::string operation_for(http::RequestHeader const& h) {
  std::string_view t = h.target();
  if (t.find("/layers/") != std::string_view::npos) return "PublishLayerVersion";
  if (t.find("/code") != std::string_view::npos) return "UpdateFunctionCode";
  return "CreateFunction";
}

}  // namespace

Response ControlPlane::too_large(http::RequestHeader const& h) const {
  if (std::string_view(h.target()).find("/invocations") != std::string_view::npos)
    return error_response(h.version(), util::uuid4(),
                          {413, "RequestEntityTooLargeException",
                           "Request must be smaller than " +
                               std::to_string(std::max(cfg_.max_payload_bytes, cfg_.max_event_payload_bytes)) +
                               " bytes for the InvokeFunction operation",
                           {}});
  ApiError err{413, "RequestEntityTooLargeException",
               "Request must be smaller than " + std::to_string(cfg_.max_request_bytes) + " bytes for the " +
                   operation_for(h) + " operation",
               {}};
  return error_response(h.version(), util::uuid4(), err);
}

asio::awaitable<Response> ControlPlane::handle(Request req) {
  Call call;
  call.request_id = util::uuid4();
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) {
    call.req = std::move(req);
    co_return error_response(call, {400, "InvalidRequestContentException", "Malformed request target", {}});
  }
  for (auto seg : url->segments()) call.segs.push_back(seg);
  for (auto param : url->params()) call.query[param.key] = param.value;
  call.req = std::move(req);
  std::string method(call.req.method_string());
  auto target = std::string(call.req.target());
  try {
    if (auto refused = co_await check_signature(call)) co_return std::move(*refused);
    Response res = co_await route(std::move(call));
    spdlog::info("{} {} -> {} (request {})", method, target, res.result_int(),
                 std::string(res["x-amzn-RequestId"]));
    co_return res;
  } catch (std::exception const& e) {
    spdlog::error("{} {}: {}", method, target, e.what());
  }
  co_return error_response(11, util::uuid4(), model::service_error("Internal error in lambdad"));
}

std::optional<auth::Failure> ControlPlane::signature_failure(Request const& req,
                                                             std::optional<std::string> body_sha256) const {
  auth::SignedRequest signed_req;
  signed_req.body_sha256 = std::move(body_sha256);
  signed_req.method = std::string(req.method_string());
  signed_req.target = std::string(req.target());
  for (auto const& field : req) signed_req.headers.emplace_back(field.name_string(), field.value());
  signed_req.body = req.body();
  auto failure = auth::verify(signed_req, cfg_.auth_keys, std::chrono::system_clock::now());
  if (failure)
    spdlog::warn("{} {} -> {} {}: {}", signed_req.method, signed_req.target, failure->status, failure->type,
                 failure->message);
  return failure;
}

asio::awaitable<std::optional<Response>> ControlPlane::check_signature(Call const& call) const {
  if (cfg_.auth != "sigv4") co_return std::nullopt;
  auto const& s = call.segs;
  // Health and metrics for probes and scrapers; code archives are named by
  // their SHA-256, which only an authenticated GetFunction hands out.
  bool exempt = (s.size() == 1 && (s[0] == "healthz" || s[0] == "metrics")) ||
                (s.size() == 3 && s[0] == "_lambdad" && s[1] == "code");
  if (exempt) co_return std::nullopt;
  // A body of up to 70 MB (CreateFunction) is hashed on the pool, not here.
  std::optional<std::string> body_sha256;
  if (call.req.body().size() > 64 * 1024) {
    auto hash = [&body = call.req.body()] { return util::to_hex(util::sha256(body)); };
    body_sha256 = co_await util::offload(pool_.get_executor(), std::move(hash));
  }
  auto failure = signature_failure(call.req, std::move(body_sha256));
  if (!failure) co_return std::nullopt;
  bool sts = s.empty() || (s.size() == 1 && s[0].empty());
  if (!sts) co_return error_response(call, ApiError{failure->status, failure->type, failure->message, {}});
  // STS names the same failures its own way.
  static std::map<std::string, std::string> const sts_codes = {
      {"MissingAuthenticationTokenException", "MissingAuthenticationToken"},
      {"IncompleteSignatureException", "IncompleteSignature"},
      {"UnrecognizedClientException", "InvalidClientTokenId"},
      {"InvalidSignatureException", "SignatureDoesNotMatch"}};
  auto code = sts_codes.find(failure->type);
  std::string message = failure->type == "MissingAuthenticationTokenException"
                            ? "Request is missing Authentication Token" : failure->message;
  co_return sts_error(call, failure->status, code == sts_codes.end() ? failure->type : code->second, message);
}

asio::awaitable<Response> ControlPlane::route(Call call) {
  auto const& s = call.segs;
  auto m = call.req.method();
  auto n = s.size();
  auto unknown = [&] {
    return error_response(call, {404, "UnknownOperationException", "Unknown operation " +
                                 std::string(call.req.method_string()) + " " + std::string(call.req.target()), {}});
  };
  if (n == 0 || (n == 1 && s[0].empty())) {
    if (m == verb::post || m == verb::get) co_return sts(call);
    co_return unknown();
  }
  if (s[0] == "2015-03-31" && n >= 2 && s[1] == "functions") {
    if (n == 2 || (n == 3 && s[2].empty())) {
      if (m == verb::post) co_return co_await create_function(std::move(call));
      if (m == verb::get) co_return list_functions(call);
    } else if (n == 3) {
      std::string name = s[2];
      if (m == verb::get) co_return get_function(call, name);
      if (m == verb::delete_) co_return co_await delete_function(std::move(call), name);
    } else if (n == 4) {
      std::string name = s[2];
      if (s[3] == "configuration" && m == verb::get) co_return get_function_configuration(call, name);
      if (s[3] == "configuration" && m == verb::put)
        co_return co_await update_function_configuration(std::move(call), name);
      if (s[3] == "code" && m == verb::put) co_return co_await update_function_code(std::move(call), name);
      if (s[3] == "invocations" && m == verb::post) co_return co_await invoke(std::move(call), name);
    }
    co_return unknown();
  }
  if (s[0] == "2018-10-31" && n >= 2 && s[1] == "layers") {
    if (n == 2 && m == verb::get) {
      if (call.query.count("find")) co_return get_layer_version_by_arn(call);
      co_return list_layers(call);
    }
    if (n == 4 && s[3] == "versions") {
      std::string layer = s[2];
      if (m == verb::post) co_return co_await publish_layer_version(std::move(call), layer);
      if (m == verb::get) co_return list_layer_versions(call, layer);
    }
    if (n == 5 && s[3] == "versions") {
      std::string layer = s[2], version = s[4];
      if (m == verb::get) co_return get_layer_version(call, layer, version);
      if (m == verb::delete_) co_return co_await delete_layer_version(std::move(call), layer, version);
    }
    co_return unknown();
  }
  if ((s[0] == "2017-10-31" || s[0] == "2019-09-30") && n == 4 && s[1] == "functions" && s[3] == "concurrency") {
    std::string name = s[2];
    if (m == verb::put && s[0] == "2017-10-31") co_return co_await put_function_concurrency(std::move(call), name);
    if (m == verb::delete_ && s[0] == "2017-10-31") co_return co_await delete_function_concurrency(std::move(call), name);
    if (m == verb::get) co_return get_function_concurrency(call, name);
    co_return unknown();
  }
  if (s[0] == "2016-08-19" && n >= 2 && s[1] == "account-settings" && m == verb::get)
    co_return get_account_settings(call);
  if (s[0] == "_lambdad" && n == 3 && s[1] == "code" && m == verb::get) co_return co_await get_code(std::move(call));
  if (s[0] == "_lambdad" && n == 3 && s[1] == "logs" && m == verb::get) {
    std::string name = s[2];
    co_return co_await get_logs(std::move(call), std::move(name));
  }
  if (s[0] == "_lambdad" && n == 2 && s[1] == "reset" && m == verb::post) co_return co_await reset(std::move(call));
  // An invocation is recorded when its invoke phase ends, a moment after its
  // answer: these wait for the ones that answered (at most kRecordWait), so
  // a test suite that invokes and then asks sees what it just ran.
  if (s[0] == "_lambdad" && n == 2 && s[1] == "invocations" && m == verb::get) {
    std::string function;
    if (auto f = call.query.find("function"); f != call.query.end()) function = f->second;
    if (invoker_) co_await invoker_->answered_recorded(function, kRecordWait);
    co_return invocations(call);
  }
  if (s[0] == "metrics" && n == 1 && m == verb::get) {
    if (invoker_) co_await invoker_->answered_recorded("", kRecordWait);
    co_return metrics(call);
  }
  if (s[0] == "healthz" && n == 1 && m == verb::get) {
    co_return json_response(call, 200, json{{"status", "ok"},
                                            {"functions", functions_.size()},
                                            {"layerVersions", layer_version_count()},
                                            {"environments", invoker_ ? invoker_->environment_count() : 0}});
  }
  co_return unknown();
}

model::ApiResult<std::string> ControlPlane::resolve_function(std::string const& text,
                                                             std::optional<std::string> qualifier) const {
  auto ref = model::parse_function_ref(text);
  if (!ref) return ref.error();
  if (!qualifier) qualifier = ref->qualifier;
  auto const& id = cfg_.identity;
  std::string arn = model::function_arn(id, ref->name);
  bool foreign = (ref->region && *ref->region != id.region) || (ref->account && *ref->account != id.account);
  if (foreign || !functions_.count(ref->name) || (qualifier && *qualifier != "$LATEST"))
    return model::not_found("Function not found: " + arn + (qualifier ? ":" + *qualifier : ""));
  return ref->name;
}

std::optional<ApiError> ControlPlane::resolve_layers(model::FunctionRecord& rec) const {
  for (auto& l : rec.layers) {
    if (!l.sha_hex.empty()) continue;  // already resolved when the function was stored
    auto ref = model::parse_layer_version_arn(l.arn, cfg_.identity);
    auto layer = ref ? layers_.find(ref->name) : layers_.end();
    if (!ref || layer == layers_.end() || !layer->second.count(ref->version))
      return model::invalid_parameter("Layer version " + l.arn + " does not exist.");
    auto const& v = layer->second.at(ref->version);
    l.sha_hex = v.code_sha256_hex;
    l.code_size = v.code_size;
    l.unzipped_size = v.unzipped_size;
  }
  return std::nullopt;
}

std::uint64_t ControlPlane::layers_unzipped(model::FunctionRecord const& rec) const {
  std::uint64_t total = 0;
  for (auto const& l : rec.layers) total += l.unzipped_size;
  return total;
}

void ControlPlane::collect_garbage() {
  auto keep = referenced_shas();
  asio::post(strand_, [this, keep = std::move(keep)] {
    auto removed = disk_.collect(keep);
    if (!removed) spdlog::warn("garbage collection: {}", removed.error().message());
    else if (!removed->empty()) spdlog::info("removed {} unreferenced code tree(s)", removed->size());
  });
}

}  // namespace lambdad::api
