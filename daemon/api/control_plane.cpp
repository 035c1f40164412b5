// The control plane's front: the request id, the signature check, then the
// route table (routes.cpp); and the shared lookups.
#include "control_plane.hpp"
#include "routes.hpp"

#include "../auth/sigv4.hpp"
#include "util/clock.hpp"
#include "util/crypto.hpp"
#include "util/offload.hpp"

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using bhttp::verb;

ControlPlane::ControlPlane(Config cfg, store::StateDir& disk, asio::thread_pool& pool)
    : cfg_(std::move(cfg)),
      host_(model::detect_host()),
      disk_(disk),
      pool_(pool),
      strand_(asio::make_strand(pool.get_executor())),
      test_events_(disk.root() / "test-events", disk.root() / "tmp"),
      functions_(cfg_.identity, [&disk](std::string const& sha) { return disk.tree_path(sha); }) {
  for (auto const& spec : runtimes::all()) host_.runtimes.insert(spec.id);
  host_.unavailable_runtimes = cfg_.runtimes.unavailable;
  if (!cfg_.destinations.endpoint_url.empty()) host_.no_service_delivery.clear();
  else host_.no_service_delivery = kNoEndpoint;
  functions_.set_runtimes(cfg_.runtimes);
  // A changed or deleted function's environments end (busy ones after their invoke).
  functions_.on_changed = [this](std::string const& name) {
    if (invoker_) invoker_->retire_function(name);
    watch_code(name);
  };
}

void ControlPlane::load(store::Loaded const& loaded) {
  functions_.load(loaded.functions);
  for (auto const& l : loaded.layers) layers_[l.name][l.version] = l;
  layer_watermarks_ = loaded.layer_watermarks;
  // Before serving, synchronously: code a crash left without a record.
  auto removed = disk_.collect(referenced_shas());
  if (!removed) spdlog::warn("start-up: collecting unreferenced code: {}", removed.error().message());
  else if (!removed->empty()) spdlog::info("start-up: removed {} zip(s)/tree(s) no record references", removed->size());
}

std::set<std::string> ControlPlane::referenced_shas() const {
  auto keep = functions_.referenced_shas();
  keep.insert(pending_shas_.begin(), pending_shas_.end());
  for (auto const& [name, versions] : layers_)
    for (auto const& [v, rec] : versions) keep.insert(rec.code_sha256_hex);
  return keep;
}

std::size_t ControlPlane::layer_version_count() const {
  std::size_t n = 0;
  for (auto const& [name, versions] : layers_) n += versions.size();
  return n;
}

asio::awaitable<Response> ControlPlane::handle(Request req, http::Peer peer, http::StreamOut& out) {
  if (auto hit = url_hit(req.base()))
    co_return co_await serve_url(std::move(req), std::move(peer), std::move(*hit), out);
  Call call;
  call.out = &out;
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
  // Health and metrics for probes and scrapers, code archives (route table).
  if (auto r = route_of(call.req.base()); r && !r->needs_signature) co_return std::nullopt;
  // A body of up to 70 MB (CreateFunction) is hashed on the pool, not here.
  std::optional<std::string> body_sha256;
  if (call.req.body().size() > 64 * 1024) {
    auto hash = [&body = call.req.body()] { return util::to_hex(util::sha256(body)); };
    body_sha256 = co_await util::offload(pool_.get_executor(), std::move(hash));
  }
  auto failure = signature_failure(call.req, std::move(body_sha256));
  if (!failure) co_return std::nullopt;
  bool sts = s.empty() || (s.size() == 1 && s[0].empty());
  // POST / with X-Amz-Target: an awsJson1.1 service (CloudWatch Logs), whose errors are {"__type", "message"}.
  if (sts && !call.req["X-Amz-Target"].empty())
    co_return json11_error(call, failure->type, failure->message, failure->status);
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

json ControlPlane::event_queue_health() const {
  std::size_t queued = 0, running = 0;
  std::int64_t oldest = 0;
  if (queue_)
    for (auto const& [fn, d] : queue_->depths()) {
      queued += d.queued;
      running += d.running;
      if (oldest == 0 || d.oldest_accepted_ms < oldest) oldest = d.oldest_accepted_ms;
    }
  double age = oldest ? static_cast<double>(events::now_ms() - oldest) / 1000.0 : 0.0;
  return json{{"queued", queued}, {"running", running}, {"oldestAgeSeconds", age}};
}

asio::awaitable<Response> ControlPlane::healthz(Call call) {
  co_return json_response(call, 200, json{{"status", "ok"},
                                          {"functions", functions_.size()},
                                          {"layerVersions", layer_version_count()},
                                          {"environments", invoker_ ? invoker_->environment_count() : 0},
                                          {"eventQueue", event_queue_health()}});
}

std::optional<std::string> ControlPlane::qualifier_of(Call const& call) {
  auto q = call.query.find("Qualifier");
  if (q == call.query.end()) return std::nullopt;
  return q->second;
}

model::FunctionState ControlPlane::with_latest(model::FunctionRecord latest) const {
  model::FunctionState state;
  if (auto const* cur = functions_.find(latest.name)) state = *cur;
  state.latest = std::move(latest);
  return state;
}

std::optional<ApiError> ControlPlane::resolve_layers(model::FunctionRecord& rec) const {
  for (auto& l : rec.layers) {
    if (!l.sha_hex.empty() || !l.host_path.empty()) continue;  // already resolved when the function was stored
    auto ref = model::parse_layer_version_arn(l.arn, cfg_.identity);
    auto layer = ref ? layers_.find(ref->name) : layers_.end();
    if (!ref || layer == layers_.end() || !layer->second.count(ref->version))
      return model::invalid_parameter("Layer version " + l.arn + " does not exist.");
    auto const& v = layer->second.at(ref->version);
    l.sha_hex = v.code_sha256_hex;
    l.host_path = v.host_path;
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
