// `lambdad generate-event SERVICE TYPE [options]`, the pure half: the sample
// events people test functions with, in the shapes of the AWS Lambda
// developer guide's example events, named as SAM CLI's `sam local
// generate-event` names them where it has the type. No I/O: the caller
// prints. Events are built as nlohmann::ordered_json (fields in the order
// AWS's examples show them), so any option text is escaped as JSON wants;
// times are `now` in each service's format, ids fresh.
#pragma once

#include "util/result.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lambdad::cli {

// Option name (without "--") → value, only the options given.
using EventOptions = std::map<std::string, std::string>;

struct SampleOption {
  std::string name;      // "bucket"
  std::string fallback;  // its value when not given; "" with `optional`: left out
  bool optional = false;
};

struct SampleEventType {
  std::string service;      // "s3"
  std::string type;         // "put"
  std::string description;  // one line
  std::vector<SampleOption> options;
};

// Every service and type, in the order --list prints them.
std::vector<SampleEventType> const& sample_event_types();
// Every option any type takes (name, what it is), for the command line.
std::vector<std::pair<std::string, std::string>> sample_event_options();
// What `generate-event --list` prints.
std::string sample_event_listing();

// The event, or why not: an unknown service or type (naming what exists),
// an option the type does not take, a value that is not valid.
Result<nlohmann::ordered_json> make_sample_event(std::string const& service, std::string const& type,
                                         EventOptions const& options, std::chrono::system_clock::time_point now);
// The same at the current time, as pretty JSON (2-space indent).
Result<std::string> generate_event(std::string const& service, std::string const& type, EventOptions const& options);

// Shared by the two sources (sample_events.cpp, sample_events_http.cpp).
namespace sample {

// The options of one generation: given values over the type's defaults.
class Args {
 public:
  Args(SampleEventType const& type, EventOptions const& given, std::chrono::system_clock::time_point now);
  // The given value, else the type's default.
  std::string const& get(std::string const& name) const;
  bool has(std::string const& name) const { return values_.count(name) != 0; }
  std::chrono::system_clock::time_point now() const { return now_; }

 private:
  std::map<std::string, std::string> values_;
  std::chrono::system_clock::time_point now_;
};

// "2024-01-02T03:04:05.678Z" (with_ms) or "2024-01-02T03:04:05Z".
std::string iso8601(std::chrono::system_clock::time_point t, bool with_ms);
long long epoch_ms(std::chrono::system_clock::time_point t);
// n random characters of [0-9a-f] (or [0-9A-F]).
std::string random_hex(std::size_t n, bool upper = false);
// base64 of n random bytes.
std::string random_base64(std::size_t n);

Result<nlohmann::ordered_json> rest_api_event(Args const& a);      // apigateway aws-proxy
Result<nlohmann::ordered_json> http_api_event(Args const& a);      // apigateway http-api-proxy
Result<nlohmann::ordered_json> function_url_event(Args const& a);  // lambda function-url

}  // namespace sample

}  // namespace lambdad::cli
