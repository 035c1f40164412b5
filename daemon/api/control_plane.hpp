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
#include "../store/test_events.hpp"
#include "../auth/sigv4.hpp"
#include "../events/delivery.hpp"
#include "../events/queue.hpp"
#include "../exec/invoker.hpp"
#include "../logs/store.hpp"
#include "../registry/registry.hpp"
#include "../reload/path.hpp"
#include "../reload/watcher.hpp"
#include "../runtimes/catalog.hpp"
#include "../urls/cors.hpp"
#include "../urls/event.hpp"

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

struct Upload;

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
  // Days a log group keeps its streams without a retention policy of its own (0: forever).
  int log_retention_days = 0;
  std::string default_function;  // what the RIE path /functions/function/invocations runs
  std::string auth = "none";     // "sigv4": every request must be signed with one of auth_keys
  std::map<std::string, std::string> auth_keys;  // access key id -> secret access key
  // What a function URL of AuthType NONE needs in the policy: "aws" (both
  // lambda:InvokeFunctionUrl and lambda:InvokeFunction, AWS since October
  // 2025), "url-only" (lambda:InvokeFunctionUrl), "off" (nothing).
  std::string url_permissions = "aws";
  // Streamed responses at Lambda's bandwidth (the first 6 MiB at once,
  // then 2 MiB/s); false: as fast as the runtime writes (test suites).
  bool stream_rate_limit = true;
  // The managed runtimes this host can run (fixed at start).
  runtimes::Availability runtimes;
  // Where SQS, SNS and EventBridge destinations and dead-letter queues are
  // delivered (fixed at start); no endpoint: they are refused.
  events::DeliveryConfig destinations;
  // Which host directories hot-reloaded code may come from (--hot-reload-dirs; fixed at start).
  reload::Policy hot_reload;
};

// Why an SQS, SNS or EventBridge target is refused without an endpoint: the setting to make.
inline constexpr char const* kNoEndpoint =
    "set --destination-endpoint-url (destinations.endpoint_url in the configuration file) to the endpoint of the "
    "service, for example a LocalStack or ElasticMQ you run";

// One request as the handlers see it: decoded path segments, the route's
// parameters ({name} in its pattern), and the query.
struct Call {
  Request req;
  std::string request_id;
  std::vector<std::string> segs;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> query;
  std::string const& param(std::string const& key) const { return params.at(key); }
  http::StreamOut* out = nullptr;  // for a handler whose answer is a stream
};

struct Route;

// A function URL request in RESPONSE_STREAM mode, authorized: what runs
// and what the answer's head needs.
struct UrlInvoke {
  urls::HttpRequest request;
  std::optional<urls::Cors> cors;
  unsigned version = 11;
  std::string request_id;
  std::chrono::system_clock::time_point time;
  exec::FunctionImage fn;
  exec::InvokeRequest invoke;
};

// An invocation a request asks for, checked: what runs and how.
struct PreparedInvoke {
  exec::FunctionImage fn;
  exec::InvokeRequest req;
  std::string type;  // RequestResponse, Event, DryRun
  std::string qualifier;  // as the caller gave it (in the name or as Qualifier); "" for none
};

// A request for a function URL: its url-id and the target the function
// sees (the path form's prefix stripped).
struct UrlHit {
  std::string url_id;
  std::string target;
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
    auto destinations = cfg_.destinations;  // the queue's, fixed at start
    cfg_ = cfg;
    cfg_.identity = identity;
    cfg_.destinations = destinations;
    if (queue_) queue_->set_retry_delay(std::chrono::milliseconds(cfg_.event_retry_delay_ms));
  }
  // Counts an invocation for /metrics and keeps it for /_lambdad/invocations.
  void record(exec::InvokeResult const& result);

  // What every function's environment gets: credentials, the daemon's endpoints.
  void set_function_env(std::map<std::string, std::string> env) { functions_.set_base_env(std::move(env)); }
  // Where Event invocations go (the durable queue); what it asks of the registry.
  void set_queue(events::Queue* queue) { queue_ = queue; }
  events::Hooks event_hooks();
  // Hot reload: watches every hot-reloaded function's directories, from
  // now on; a change ends the function's environments (hot_reload.cpp).
  void set_watcher(reload::Watcher* watcher);
  // Where log groups are read from (GET /_lambdad/logs/NAME).
  void set_logs(logs::LogStore* logs) { logs_ = logs; }
  // Ends every log follow (the daemon is stopping).
  void stop_streams();

  std::uint64_t body_limit(http::RequestHeader const& header) const override;
  Response too_large(http::RequestHeader const& header) const override;
  boost::asio::awaitable<Response> handle(Request req, http::Peer peer, http::StreamOut& out) override;

 private:
  using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

  boost::asio::awaitable<Response> route(Call call);
  // The operation a request names, for its body limit and refusal (by path alone).
  Route const* route_of(http::RequestHeader const& header) const;
  // With auth = sigv4: the error for a request whose signature is missing or
  // wrong (Lambda's JSON, or STS's XML for STS), nothing when it is good.
  boost::asio::awaitable<std::optional<Response>> check_signature(Call const& call) const;
  std::optional<auth::Failure> signature_failure(Request const& req,
                                                 std::optional<std::string> body_sha256 = std::nullopt) const;
  // The account's concurrency limit: the invoker's (Lambda's default 1000 without one).
  long max_concurrency() const { return invoker_ ? invoker_->max_concurrency() : 1000; }
  // Every handler: a coroutine taking the call (path parameters in
  // call.params), found through the route table (routes.cpp).
  using Handler = boost::asio::awaitable<Response> (ControlPlane::*)(Call);
  // The route table: every operation, its method and path pattern (routes.cpp).
  static std::vector<Route> const& routes();
  // functions.cpp
  boost::asio::awaitable<Response> create_function(Call call);
  boost::asio::awaitable<Response> update_function_code(Call call);
  boost::asio::awaitable<Response> update_function_configuration(Call call);
  boost::asio::awaitable<Response> delete_function(Call call);
  boost::asio::awaitable<Response> get_function(Call call);
  boost::asio::awaitable<Response> get_function_configuration(Call call);
  boost::asio::awaitable<Response> list_functions(Call call);
  boost::asio::awaitable<Response> get_account_settings(Call call);
  boost::asio::awaitable<Response> get_code(Call call);
  // versions.cpp
  boost::asio::awaitable<Response> publish_version(Call call);
  boost::asio::awaitable<Response> list_versions(Call call);
  boost::asio::awaitable<Response> create_alias(Call call);
  boost::asio::awaitable<Response> get_alias(Call call);
  boost::asio::awaitable<Response> update_alias(Call call);
  boost::asio::awaitable<Response> delete_alias(Call call);
  boost::asio::awaitable<Response> list_aliases(Call call);
  // policy.cpp: resource policy and tags
  boost::asio::awaitable<Response> add_permission(Call call);
  boost::asio::awaitable<Response> get_policy(Call call);
  boost::asio::awaitable<Response> remove_permission(Call call);
  boost::asio::awaitable<Response> tag_resource(Call call);
  boost::asio::awaitable<Response> untag_resource(Call call);
  boost::asio::awaitable<Response> list_tags(Call call);
  // layers.cpp
  boost::asio::awaitable<Response> publish_layer_version(Call call);
  boost::asio::awaitable<Response> delete_layer_version(Call call);
  boost::asio::awaitable<Response> list_layer_versions(Call call);
  boost::asio::awaitable<Response> get_layer_version(Call call);
  boost::asio::awaitable<Response> list_layers(Call call);
  Response layer_version_response(Call const& call, std::string const& layer, std::string const& version) const;
  Response layer_version_by_arn(Call const& call) const;
  // concurrency.cpp
  boost::asio::awaitable<Response> put_function_concurrency(Call call);
  boost::asio::awaitable<Response> get_function_concurrency(Call call);
  boost::asio::awaitable<Response> delete_function_concurrency(Call call);
  // invoke.cpp
  boost::asio::awaitable<Response> invoke(Call call);
  boost::asio::awaitable<Response> invoke_with_response_stream(Call call);
  // Invoke's and InvokeWithResponseStream's checks of the request, taking
  // the invocation types the operation accepts.
  model::ApiResult<PreparedInvoke> prepare_invoke(Call& call, std::vector<std::string> const& types);
  // event_config.cpp: PutFunctionEventInvokeConfig ... ListFunctionEventInvokeConfigs
  boost::asio::awaitable<Response> put_event_config(Call call);
  boost::asio::awaitable<Response> update_event_config(Call call);
  boost::asio::awaitable<Response> get_event_config(Call call);
  boost::asio::awaitable<Response> delete_event_config(Call call);
  boost::asio::awaitable<Response> list_event_configs(Call call);
  boost::asio::awaitable<Response> write_event_config(Call call, bool merge);
  std::optional<ApiError> check_destination(std::string const& function, std::string const& arn,
                                            char const* field) const;
  json event_config_json(std::string const& function, std::string const& qualifier,
                         model::EventConfigRecord const& c) const;
  std::variant<events::Resolved, std::string> event_target(events::QueuedEvent const& e);
  // observe.cpp: GET /_lambdad/events: what the queue holds.
  boost::asio::awaitable<Response> list_events(Call call);
  json event_queue_health() const;
  // POST /: STS's query protocol, or an awsJson1.1 service by X-Amz-Target (CloudWatch Logs).
  boost::asio::awaitable<Response> post_root(Call call);
  // cloudwatch_logs.cpp
  boost::asio::awaitable<Response> cloudwatch_logs(Call call);
  boost::asio::awaitable<Response> describe_log_groups(Call call, json body);
  boost::asio::awaitable<Response> describe_log_streams(Call call, json body);
  boost::asio::awaitable<Response> get_log_events(Call call, json body);
  boost::asio::awaitable<Response> filter_log_events(Call call, json body);
  // A log group's events (nothing when it does not exist), read on the pool.
  boost::asio::awaitable<std::optional<std::vector<logs::LogEvent>>> read_log_group(std::string group);
  std::string logs_arn(std::string const& group) const;
  boost::asio::awaitable<Response> retention_policy(Call call, json body, bool put);

 public:
  // Deletes log streams past their retention now and then every `every` (serve.cpp starts it).
  boost::asio::awaitable<void> expire_logs(std::chrono::minutes every);

 private:
  // sts.cpp
  boost::asio::awaitable<Response> sts(Call call);
  // logs.cpp
  boost::asio::awaitable<Response> get_logs(Call call);
  boost::asio::awaitable<Response> follow_logs(Call call, std::string key);
  std::string log_key(std::string const& name) const;
  // observe.cpp: GET /metrics, GET /_lambdad/invocations, POST /_lambdad/reset, GET /healthz
  boost::asio::awaitable<Response> metrics(Call call);
  boost::asio::awaitable<Response> invocations(Call call);
  boost::asio::awaitable<Response> reset(Call call);
  boost::asio::awaitable<Response> healthz(Call call);
  // DeleteFunction with a version (or alias) as its Qualifier (versions.cpp).
  boost::asio::awaitable<std::optional<ApiError>> delete_version(registry::Target target);
  // url_config.cpp: CreateFunctionUrlConfig ... ListFunctionUrlConfigs
  boost::asio::awaitable<Response> create_url_config(Call call);
  boost::asio::awaitable<Response> get_url_config(Call call);
  boost::asio::awaitable<Response> update_url_config(Call call);
  boost::asio::awaitable<Response> delete_url_config(Call call);
  boost::asio::awaitable<Response> list_url_configs(Call call);
  // Removes a function's record and code (DeleteFunction, reset).
  boost::asio::awaitable<std::optional<ApiError>> remove_function(std::string name);

  // test_events.cpp: the console's saved test events, per function
  // (GET/PUT/DELETE /_lambdad/test-events/{name}[/{event}]).
  boost::asio::awaitable<Response> list_test_events(Call call);
  boost::asio::awaitable<Response> get_test_event(Call call);
  boost::asio::awaitable<Response> put_test_event(Call call);
  boost::asio::awaitable<Response> delete_test_event(Call call);
  // hot_reload.cpp: the host directory a Code or Content object names
  // (S3Bucket "hot-reload"), "" when it names none, or the API error.
  model::ApiResult<std::string> hot_reload_dir(json const& holder) const;
  // The code an upload gives `rec`: its zip, or the hot-reload directory
  // `holder` (the Code object, or the body) names; `missing` when neither.
  std::optional<ApiError> take_code(Upload const& up, json const& holder, model::FunctionRecord& rec,
                                    std::string const& missing) const;
  // What an invocation of `t` runs (a weighted alias routed), or the error
  // when its hot-reloaded directories are no longer allowed (--hot-reload-dirs
  // changed since it was deployed, or a path now leads elsewhere).
  model::ApiResult<exec::FunctionImage> runnable(registry::Target const& t);
  // The watcher follows `name`'s directories as its records now say.
  void watch_code(std::string const& name);

  // Shared pieces.
  // The Qualifier query parameter, if given.
  static std::optional<std::string> qualifier_of(Call const& call);
  std::optional<ApiError> resolve_layers(model::FunctionRecord& rec) const;
  // FunctionConfiguration of a version (`version` "$LATEST" or a number),
  // its FunctionArn as `arn` (unqualified for a bare name, as AWS renders it).
  json function_configuration(model::FunctionRecord const& rec, std::string const& version = "$LATEST",
                              std::string const& arn = "") const;
  json target_configuration(registry::Target const& t) const;
  model::ApiResult<std::string> tagged_function(std::string const& arn) const;
  // url_invoke.cpp: a function URL request, by host or by path.
  std::optional<UrlHit> url_hit(http::RequestHeader const& header) const;
  bool url_permitted(std::string const& function, std::string const& qualifier) const;
  boost::asio::awaitable<Response> serve_url(Request req, http::Peer peer, UrlHit hit, http::StreamOut& out);
  boost::asio::awaitable<Response> stream_url(UrlInvoke u, http::StreamOut& out);
  // url_config.cpp: the URL a config is reached at, and its API shape.
  std::string function_url(Call const& call, std::string const& url_id) const;
  model::ApiResult<registry::Target> url_target(Call const& call) const;
  json url_config_json(Call const& call, std::string const& function, model::UrlConfigRecord const& u,
                       bool with_modified) const;
  std::optional<ApiError> check_alias(model::FunctionState const& state, json const& body,
                                      model::AliasRecord& alias) const;
  json alias_json(std::string const& function, model::AliasRecord const& a) const;
  json layer_version_json(model::LayerVersionRecord const& rec, bool with_content, Call const& call) const;
  std::string code_location(Call const& call, std::string const& sha_hex) const;
  std::uint64_t layers_unzipped(model::FunctionRecord const& rec) const;
  std::set<std::string> referenced_shas() const;
  // The function's whole state with `latest` as its $LATEST.
  model::FunctionState with_latest(model::FunctionRecord latest) const;
  ApiError unzipped_too_large() const;
  ApiError update_in_progress(std::string const& name) const;
  // Writes `state` (the function marked busy meanwhile) and, once it is on
  // disk, makes it current; `code_changed`: its environments end.
  boost::asio::awaitable<std::optional<ApiError>> save_state(model::FunctionState state, bool code_changed);
  boost::asio::awaitable<std::optional<ApiError>> save_record(model::FunctionRecord rec) {
    return save_state(with_latest(std::move(rec)), true);
  }
  // Unpacks and stores the code of `rec` and then its record, marking the
  // function busy meanwhile; the record as stored, or the API error.
  boost::asio::awaitable<model::ApiResult<model::FunctionState>> store_code(model::FunctionState state,
                                                                             std::string zip);

  Config cfg_;
  model::HostInfo host_;
  store::StateDir& disk_;
  boost::asio::thread_pool& pool_;
  Strand strand_;  // every StateDir call runs here, one at a time
  store::TestEvents test_events_;  // on the strand too
  registry::FunctionRegistry functions_;
  std::map<std::string, std::map<int, model::LayerVersionRecord>> layers_;
  std::map<std::string, int> layer_watermarks_;
  std::multiset<std::string> pending_shas_;  // layer code being stored: never collected
  exec::Invoker* invoker_ = nullptr;
  reload::Watcher* watcher_ = nullptr;
  events::Queue* queue_ = nullptr;
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
// An awsJson1.1 service's error (CloudWatch Logs): {"__type", "message"} (cloudwatch_logs.cpp).
Response json11_error(Call const& call, std::string const& type, std::string const& message, unsigned status = 400);
// `res` with X-Amz-Executed-Version: the version that ran (or would run).
Response executed(Response res, exec::FunctionImage const& fn);
// A function URL's answer to a finished invocation (BUFFERED mode, and
// RESPONSE_STREAM mode before any byte): 429 when throttled, 502 when it
// failed, else the response inferred from the payload.
urls::HttpResponse buffered_url_response(exec::InvokeResult const& result);
// 429 TooManyRequestsException with Lambda's Reason and Retry-After.
Response throttled_response(Call const& call, std::string const& reason);
Response error_response(unsigned version, std::string const& request_id, ApiError const& err);
// sts.cpp: an STS error (query protocol, XML).
Response sts_error(Call const& call, unsigned status, std::string const& code, std::string const& message);
ApiError unzip_error(Error const& e, std::uint64_t max_unzipped);
// A write to the state directory that failed: a full disk (ENOSPC, EDQUOT)
// is 400 CodeStorageExceededException, AWS's error for code storage used up
// (not retried by the SDKs, since retrying cannot help); anything else 500.
ApiError storage_error(std::string const& what, Error const& e);

}  // namespace lambdad::api
