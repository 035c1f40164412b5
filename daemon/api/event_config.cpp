// Asynchronous invocation configuration: PutFunctionEventInvokeConfig,
// UpdateFunctionEventInvokeConfig, GetFunctionEventInvokeConfig,
// DeleteFunctionEventInvokeConfig, ListFunctionEventInvokeConfigs (API
// 2019-09-25), and what the event queue asks of the registry: the function
// and EventInvokeConfig an event runs with, and where a Lambda destination
// leads. Shapes: botocore's model; words: LocalStack's AWS-recorded
// snapshots and the Lambda developer guide's "Configuring error handling
// for asynchronous invocation" and "Capturing records of Lambda
// asynchronous invocations".
#include "control_plane.hpp"
#include "upload.hpp"

#include <regex>

namespace lambdad::api {

namespace asio = boost::asio;

namespace {

std::optional<ApiError> check_range(json const& body, char const* key, char const* field, long lo, long hi) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  auto const& v = body[key];
  if (!v.is_number_integer()) return model::validation(v.dump(), field, "Member must be an integer");
  long n = v.get<long>();
  if (n < lo) return model::validation(std::to_string(n), field, "Member must have value greater than or equal to " + std::to_string(lo));
  if (n > hi) return model::validation(std::to_string(n), field, "Member must have value less than or equal to " + std::to_string(hi));
  return std::nullopt;
}

// DestinationConfig's OnSuccess or OnFailure Destination, "" when absent.
std::string destination_of(json const& body, char const* which) {
  if (!body.contains("DestinationConfig") || !body["DestinationConfig"].is_object()) return "";
  auto const& d = body["DestinationConfig"];
  if (!d.contains(which) || !d[which].is_object() || !d[which].contains("Destination")) return "";
  auto const& arn = d[which]["Destination"];
  return arn.is_string() ? arn.get<std::string>() : "";
}

bool given(json const& body, char const* key) { return body.contains(key) && !body[key].is_null(); }

// The function's name in a FunctionName parameter (a name, or an ARN), for a message.
std::string plain_name(std::string const& text) {
  auto ref = model::parse_function_ref(text);
  return ref ? ref->name : text;
}

}  // namespace

std::optional<ApiError> ControlPlane::check_destination(std::string const& function, std::string const& arn,
                                                        char const* field) const {
  static const std::regex pattern(
      R"(^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*))");
  if (!std::regex_match(arn, pattern))
    return model::validation(arn, field,
                             "Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])"
                             "+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)");
  if (arn.empty()) return std::nullopt;
  auto after_partition = arn.find(':', 4) + 1;  // arn:PARTITION:SERVICE:...
  std::string service = arn.substr(after_partition, arn.find(':', after_partition) - after_partition);
  if (service == "lambda") {
    auto ref = model::parse_function_ref(arn);
    if (!ref || !functions_.contains(ref->name)) return model::invalid_parameter("The destination ARN " + arn + " is invalid.");
    if (ref->name == function) return model::invalid_parameter("You can't specify the function as a destination for itself.");
    return std::nullopt;
  }
  if (events::deliverable(arn)) {
    if (cfg_.destinations.endpoint_url.empty())
      return model::invalid_parameter("lambdad cannot deliver to the " + service + " destination " + arn + ": " +
                                      kNoEndpoint);
    return std::nullopt;
  }
  return model::invalid_parameter("The destination ARN " + arn + " is invalid.");
}

json ControlPlane::event_config_json(std::string const& function, std::string const& qualifier,
                                     model::EventConfigRecord const& c) const {
  json success = json::object(), failure = json::object();
  if (!c.on_success.empty()) success["Destination"] = c.on_success;
  if (!c.on_failure.empty()) failure["Destination"] = c.on_failure;
  json j{{"FunctionArn", functions_.arn(function, qualifier)},
         {"LastModified", c.last_modified},
         {"DestinationConfig", {{"OnSuccess", success}, {"OnFailure", failure}}}};
  if (c.max_retry_attempts) j["MaximumRetryAttempts"] = *c.max_retry_attempts;
  if (c.max_event_age) j["MaximumEventAgeInSeconds"] = *c.max_event_age;
  return j;
}

// Put (replace: `merge` false) and Update (merge, the config must exist).
asio::awaitable<Response> ControlPlane::write_event_config(Call call, bool merge) {
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  if (auto e = check_range(body, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2)) co_return error_response(call, *e);
  if (auto e = check_range(body, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21600))
    co_return error_response(call, *e);
  if (!given(body, "MaximumRetryAttempts") && !given(body, "MaximumEventAgeInSeconds") && !given(body, "DestinationConfig"))
    co_return error_response(call, model::invalid_parameter(
                                       "You must specify at least one of error handling or destination setting."));
  auto target = functions_.resolve(call.param("name"), qualifier_of(call));
  if (!target) co_return error_response(call, model::not_found("The function doesn't exist."));
  std::string name = target->name, key = target->qualifier.empty() ? registry::kLatest : target->qualifier;
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  model::FunctionState state = *functions_.find(name);
  auto found = state.event_configs.find(key);
  if (merge && found == state.event_configs.end())
    co_return error_response(call, model::not_found("The function " + functions_.arn(name, key) +
                                                    " doesn't have an EventInvokeConfig"));
  model::EventConfigRecord c = merge ? found->second : model::EventConfigRecord{};
  if (given(body, "DestinationConfig")) {
    c.on_success = destination_of(body, "OnSuccess");
    c.on_failure = destination_of(body, "OnFailure");
    if (auto e = check_destination(name, c.on_success, "destinationConfig.onSuccess.destination")) co_return error_response(call, *e);
    if (auto e = check_destination(name, c.on_failure, "destinationConfig.onFailure.destination")) co_return error_response(call, *e);
  }
  if (given(body, "MaximumRetryAttempts")) c.max_retry_attempts = body["MaximumRetryAttempts"].get<int>();
  if (given(body, "MaximumEventAgeInSeconds")) c.max_event_age = body["MaximumEventAgeInSeconds"].get<int>();
  c.last_modified = static_cast<double>(events::now_ms()) / 1000.0;
  state.event_configs[key] = c;
  if (auto failed = co_await save_state(state, false)) co_return error_response(call, *failed);
  co_return json_response(call, 200, event_config_json(name, key, c));
}

asio::awaitable<Response> ControlPlane::put_event_config(Call call) { return write_event_config(std::move(call), false); }
asio::awaitable<Response> ControlPlane::update_event_config(Call call) { return write_event_config(std::move(call), true); }

asio::awaitable<Response> ControlPlane::get_event_config(Call call) {
  auto q = qualifier_of(call);
  auto target = functions_.resolve(call.param("name"), q);
  std::string key = q && !q->empty() ? *q : registry::kLatest;
  std::string name = target ? target->name : plain_name(call.param("name"));
  if (target) key = target->qualifier.empty() ? registry::kLatest : target->qualifier;
  auto const* state = target ? functions_.find(name) : nullptr;
  model::EventConfigRecord const* config = nullptr;
  if (state)
    if (auto found = state->event_configs.find(key); found != state->event_configs.end()) config = &found->second;
  if (!config)
    co_return error_response(call, model::not_found("The function " + functions_.arn(name, key) +
                                                    " doesn't have an EventInvokeConfig"));
  co_return json_response(call, 200, event_config_json(name, key, *config));
}

asio::awaitable<Response> ControlPlane::delete_event_config(Call call) {
  auto q = qualifier_of(call);
  auto target = functions_.resolve(call.param("name"), q);
  std::string name = target ? target->name : plain_name(call.param("name"));
  std::string key = target ? (target->qualifier.empty() ? registry::kLatest : target->qualifier)
                           : (q && !q->empty() ? *q : registry::kLatest);
  model::FunctionState state;
  if (target) state = *functions_.find(name);
  if (!target || !state.event_configs.erase(key))
    co_return error_response(call, model::not_found("The function " + functions_.arn(name, key) +
                                                    " doesn't have an EventInvokeConfig"));
  if (functions_.busy(name)) co_return error_response(call, update_in_progress(name));
  if (auto failed = co_await save_state(state, false)) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

asio::awaitable<Response> ControlPlane::list_event_configs(Call call) {
  auto target = functions_.resolve(call.param("name"), std::nullopt);
  if (!target) co_return error_response(call, model::not_found("The function doesn't exist."));
  json list = json::array();
  for (auto const& [q, c] : functions_.find(target->name)->event_configs)
    list.push_back(event_config_json(target->name, q, c));
  co_return json_response(call, 200, json{{"FunctionEventInvokeConfigs", list}});
}

std::variant<events::Resolved, std::string> ControlPlane::event_target(events::QueuedEvent const& e) {
  std::optional<std::string> q;
  if (!e.qualifier.empty()) q = e.qualifier;
  auto target = functions_.resolve(e.function, q);
  if (!target) return target.error().message;
  events::Resolved r;
  auto const& configs = functions_.find(target->name)->event_configs;
  auto c = configs.find(target->qualifier.empty() ? registry::kLatest : target->qualifier);
  if (c != configs.end()) {
    r.policy.max_retries = c->second.max_retry_attempts.value_or(r.policy.max_retries);
    r.policy.max_age_s = c->second.max_event_age.value_or(r.policy.max_age_s);
    r.policy.on_success = c->second.on_success;
    r.policy.on_failure = c->second.on_failure;
  }
  r.policy.dead_letter = target->record->dead_letter_target;
  auto fn = runnable(*target);
  if (!fn) return fn.error().message;
  r.fn = std::move(*fn);
  return r;
}

events::Hooks ControlPlane::event_hooks() {
  events::Hooks h;
  h.resolve = [this](events::QueuedEvent const& e) { return event_target(e); };
  h.lambda_destination = [](std::string const& arn) -> std::optional<events::LambdaDestination> {
    auto ref = model::parse_function_ref(arn);
    if (!ref || arn.rfind("arn:", 0) != 0) return std::nullopt;
    return events::LambdaDestination{ref->name, ref->qualifier.value_or("")};
  };
  return h;
}

}  // namespace lambdad::api
