// The Lambda control plane and STS: owns the function and layer registry in
// memory (on the io_context thread: no locks) and routes each request to one
// handler. Disk work goes to the store's strand on the pool; CPU work
// (JSON of large bodies, base64, SHA-256) to the pool.
#pragma once

#include "../http/server.hpp"
#include "../model/api_error.hpp"
#include "../model/arn.hpp"
#include "../model/records.hpp"
#include "../model/validate.hpp"
#include "../store/state_dir.hpp"
#include "../auth/sigv4.hpp"
#include "../exec/invoker.hpp"
#include "../logs/store.hpp"

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lambdad::api {

using http::Request;
using http::Response;
using nlohmann::json;
using model::ApiError;

struct Config {
  model::Identity identity;
  store::UnpackLimits unpack;
  std::uint64_t max_zip_bytes = 52428800;          // Lambda's direct upload limit
  std::uint64_t max_request_bytes = 70167211;      // what Lambda accepts for a CreateFunction request
  std::uint64_t max_unzipped_bytes = 262144000;    // function + layers
  std::uint64_t max_payload_bytes = 6291456;       // a RequestResponse (or DryRun) Invoke's event
  std::uint64_t max_event_payload_bytes = 1048576;  // an Event Invoke's (256 KB until October 2025)
  // A failed Event invocation is tried twice more, after this and after
  // twice this (Lambda: 1 and 2 minutes).
  std::uint64_t event_retry_delay_ms = 60000;
  std::string default_function;  // what the RIE path /functions/function/invocations runs
  std::string auth = "none";     // "sigv4": every request must be signed with one of auth_keys
  std::map<std::string, std::string> auth_keys;  // access key id -> secret access key
};

// One request as the handlers see it: decoded path segments and query.
struct Call {
  Request req;
  std::string request_id;
  std::vector<std::string> segs;
  std::map<std::string, std::string> query;
};

class ControlPlane final : public http::Service {
 public:
  ControlPlane(Config cfg, store::StateDir& disk, boost::asio::thread_pool& pool);

  // Loads the records found by StateDir::open into memory.
  // Also removes code that no record references (left by a crash between
  // storing a zip and writing its record).
  void load(store::Loaded const& loaded);
  std::size_t function_count() const { return functions_.size(); }
  std::size_t layer_version_count() const;
  // Removes, on the store strand, every blob and tree no record references.
  void collect_garbage();
  // Where invocations run; without one, Invoke answers ServiceException.
  void set_invoker(exec::Invoker* invoker) {
    invoker_ = invoker;
    invoker_->on_finished = [this](exec::InvokeResult const& r) { record(r); };
  }

  // SIGHUP: the new limits, default function and authentication (the
  // identity stays: ARNs on disk name it).
  void reconfigure(Config const& cfg) {
    auto identity = cfg_.identity;
    cfg_ = cfg;
    cfg_.identity = identity;
  }
  // Counts an invocation for /metrics and keeps it for /_lambdad/invocations.
  void record(exec::InvokeResult const& result);

  // Where log groups are read from (GET /_lambdad/logs/NAME).
  void set_logs(logs::LogStore* logs) { logs_ = logs; }
  // Ends every log follow (the daemon is stopping).
  void stop_streams();

  std::uint64_t body_limit(http::RequestHeader const& header) const override;
  bool streams(Request const& req) const override;
  boost::asio::awaitable<void> stream(Request req, boost::beast::tcp_stream& out) override;
  Response too_large(http::RequestHeader const& header) const override;
  boost::asio::awaitable<Response> handle(Request req) override;

 private:
  using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

  boost::asio::awaitable<Response> route(Call call);
  // With auth = sigv4: the error for a request whose signature is missing or
  // wrong (Lambda's JSON, or STS's XML for STS), nothing when it is good.
  boost::asio::awaitable<std::optional<Response>> check_signature(Call const& call) const;
  std::optional<auth::Failure> signature_failure(Request const& req,
                                                 std::optional<std::string> body_sha256 = std::nullopt) const;
  // The account's concurrency limit: the invoker's (Lambda's default 1000 without one).
  long max_concurrency() const { return invoker_ ? invoker_->max_concurrency() : 1000; }
  // functions.cpp
  boost::asio::awaitable<Response> create_function(Call call);
  boost::asio::awaitable<Response> update_function_code(Call call, std::string name);
  boost::asio::awaitable<Response> update_function_configuration(Call call, std::string name);
  boost::asio::awaitable<Response> delete_function(Call call, std::string name);
  Response get_function(Call const& call, std::string const& name) const;
  Response get_function_configuration(Call const& call, std::string const& name) const;
  Response list_functions(Call const& call) const;
  Response get_account_settings(Call const& call) const;
  boost::asio::awaitable<Response> get_code(Call call);
  // layers.cpp
  boost::asio::awaitable<Response> publish_layer_version(Call call, std::string layer);
  boost::asio::awaitable<Response> delete_layer_version(Call call, std::string layer, std::string version);
  Response list_layer_versions(Call const& call, std::string const& layer) const;
  Response get_layer_version(Call const& call, std::string const& layer, std::string const& version) const;
  Response get_layer_version_by_arn(Call const& call) const;
  Response list_layers(Call const& call) const;
  // concurrency.cpp
  boost::asio::awaitable<Response> put_function_concurrency(Call call, std::string name);
  Response get_function_concurrency(Call const& call, std::string const& name) const;
  boost::asio::awaitable<Response> delete_function_concurrency(Call call, std::string name);
  // invoke.cpp
  boost::asio::awaitable<Response> invoke(Call call, std::string name);
  exec::FunctionImage image_of(model::FunctionRecord const& rec) const;
  // sts.cpp
  Response sts(Call const& call) const;
  // logs.cpp
  boost::asio::awaitable<Response> get_logs(Call call, std::string name);
  // observe.cpp: GET /metrics, GET /_lambdad/invocations, POST /_lambdad/reset
  Response metrics(Call const& call) const;
  Response invocations(Call const& call) const;
  boost::asio::awaitable<Response> reset(Call call);
  // Removes a function's record and code (DeleteFunction, reset).
  boost::asio::awaitable<std::optional<ApiError>> remove_function(std::string name);

  // Shared pieces.
  model::ApiResult<std::string> resolve_function(std::string const& text, std::optional<std::string> qualifier) const;
  std::optional<ApiError> resolve_layers(model::FunctionRecord& rec) const;
  json function_configuration(model::FunctionRecord const& rec) const;
  json layer_version_json(model::LayerVersionRecord const& rec, bool with_content, Call const& call) const;
  std::string code_location(Call const& call, std::string const& sha_hex) const;
  std::uint64_t layers_unzipped(model::FunctionRecord const& rec) const;
  std::set<std::string> referenced_shas() const;
  ApiError unzipped_too_large() const;
  ApiError update_in_progress(std::string const& name) const;
  // Writes `rec` (the function marked busy meanwhile) and, once it is on
  // disk, makes it the function's configuration.
  boost::asio::awaitable<std::optional<ApiError>> save_record(model::FunctionRecord rec);
  // Unpacks and stores the code of `rec` and then its record, marking the
  // function busy meanwhile; the record as stored, or the API error.
  boost::asio::awaitable<model::ApiResult<model::FunctionRecord>> store_code(model::FunctionRecord rec,
                                                                             std::string zip);

  Config cfg_;
  model::HostInfo host_;
  store::StateDir& disk_;
  boost::asio::thread_pool& pool_;
  Strand strand_;  // every StateDir call runs here, one at a time
  std::map<std::string, model::FunctionRecord> functions_;
  std::set<std::string> busy_;  // functions being created, updated or deleted
  std::map<std::string, std::map<int, model::LayerVersionRecord>> layers_;
  std::map<std::string, int> layer_watermarks_;
  std::multiset<std::string> pending_shas_;  // code being stored: never collected
  exec::Invoker* invoker_ = nullptr;
  logs::LogStore* logs_ = nullptr;
  bool streams_stopped_ = false;
  // observe.cpp
  struct Histogram {
    Histogram();
    std::vector<double> bounds;  // seconds, ascending; +Inf implied
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
    void observe(double seconds);
  };
  struct FunctionMetrics {
    std::map<std::string, std::uint64_t> outcomes;
    std::map<std::string, std::uint64_t> throttles;  // by reason
    std::uint64_t cold_starts = 0;
    Histogram duration, init;
  };
  struct InvocationRecord {
    std::string request_id, type, outcome;
    bool function_error = false, cold = false;
    std::chrono::system_clock::time_point started_at;
    logs::ReportFigures figures;
    std::string log;
  };
  std::map<std::string, FunctionMetrics> metrics_;
  std::map<std::string, std::deque<InvocationRecord>> history_;  // oldest first
};

// render.cpp: every response of the control plane is built here.
Response json_response(Call const& call, unsigned status, json const& body);
Response empty_response(Call const& call, unsigned status);
Response error_response(Call const& call, ApiError const& err);
Response error_response(unsigned version, std::string const& request_id, ApiError const& err);
// sts.cpp: an STS error (query protocol, XML).
Response sts_error(Call const& call, unsigned status, std::string const& code, std::string const& message);
ApiError unzip_error(Error const& e, std::uint64_t max_unzipped);

}  // namespace lambdad::api
