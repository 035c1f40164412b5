// Sample events of the services that deliver records (S3, SQS, SNS,
// EventBridge, DynamoDB Streams, Kinesis, CloudWatch Logs), the catalog of
// every type and what --list prints. The HTTP ones (API Gateway, function
// URLs) are in sample_events_http.cpp.
//
// Shapes: the AWS Lambda developer guide's example event of each service,
// and S3's "Event message structure" (eventVersion 2.1; the object key
// URL-encoded). Field values that AWS makes up (request ids, sequencers,
// receipt handles, signatures) are random in the same alphabet and length.
#include "cli/sample_events.hpp"

#include "logs/query.hpp"
#include "logs/store.hpp"
#include "util/clock.hpp"
#include "util/crypto.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

namespace lambdad::cli {

using json = nlohmann::ordered_json;
using std::chrono::system_clock;

namespace sample {

Args::Args(SampleEventType const& type, EventOptions const& given, system_clock::time_point now) : now_(now) {
  for (auto const& o : type.options)
    if (!o.optional) values_[o.name] = o.fallback;
  for (auto const& [name, value] : given) values_[name] = value;
}

std::string const& Args::get(std::string const& name) const {
  static std::string const empty;
  auto it = values_.find(name);
  return it == values_.end() ? empty : it->second;
}

std::string iso8601(system_clock::time_point t, bool with_ms) {
  auto ms = epoch_ms(t);
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (with_ms) std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%03d", static_cast<int>(ms % 1000));
  return std::string(buf) + "Z";
}

long long epoch_ms(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

namespace {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

std::string hex_of(std::string_view bytes, bool upper) {
  char const* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

std::string random_hex(std::size_t n, bool upper) { return hex_of(random_bytes((n + 1) / 2), upper).substr(0, n); }

std::string random_base64(std::size_t n) { return util::base64_encode(random_bytes(n)); }

}  // namespace sample

namespace {

using sample::Args;
using sample::epoch_ms;
using sample::iso8601;
using sample::random_base64;
using sample::random_hex;

std::string const& region(Args const& a) { return a.get("region"); }
std::string const& account(Args const& a) { return a.get("account"); }

// n random decimal digits (sequence numbers).
std::string random_digits(std::size_t n) {
  auto hex = random_hex(2 * n);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += static_cast<char>('0' + std::stoi(hex.substr(2 * i, 2), nullptr, 16) % 10);
  if (out[0] == '0') out[0] = '4';
  return out;
}

// An IAM user's unique id ("AIDA" and 17 characters of [0-9A-Z]).
std::string iam_user_id() { return "AIDA" + random_hex(17, true); }

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

// The object key as S3 puts it in a notification: URL-encoded as an HTML
// form is ("red flower.jpg" → "red+flower.jpg"), '/' left as it is.
std::string s3_key_encode(std::string_view key) {
  std::string out;
  char buf[4];
  for (unsigned char c : key) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.' || c == '*' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

Result<unsigned long long> parse_size(std::string const& text) {
  if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos)
    return plain_error("--size must be a number of bytes, not `" + text + "`");
  return std::stoull(text);
}

Result<json> s3_event(Args const& a, bool put) {
  auto const& bucket = a.get("bucket");
  if (bucket.empty()) return plain_error("--bucket must not be empty");
  if (a.get("key").empty()) return plain_error("--key must not be empty");
  json object = {{"key", s3_key_encode(a.get("key"))}};
  if (put) {
    auto size = parse_size(a.get("size"));
    if (!size) return size.error();
    object["size"] = *size;
    object["eTag"] = random_hex(32);
  }
  // Hex, growing with time (S3 orders a key's events by it).
  char sequencer[32];
  std::snprintf(sequencer, sizeof sequencer, "%018llX",
                static_cast<unsigned long long>(system_clock::to_time_t(a.now())) * 1000000ULL +
                    static_cast<unsigned long long>(epoch_ms(a.now()) % 1000) * 1000ULL);
  object["sequencer"] = sequencer;
  std::string principal = "AWS:" + iam_user_id();
  json record = {
      {"eventVersion", "2.1"},
      {"eventSource", "aws:s3"},
      {"awsRegion", region(a)},
      {"eventTime", iso8601(a.now(), true)},
      {"eventName", put ? "ObjectCreated:Put" : "ObjectRemoved:Delete"},
      {"userIdentity", {{"principalId", principal}}},
      {"requestParameters", {{"sourceIPAddress", "127.0.0.1"}}},
      {"responseElements", {{"x-amz-request-id", random_hex(16, true)}, {"x-amz-id-2", random_base64(57)}}},
      {"s3",
       {{"s3SchemaVersion", "1.0"},
        {"configurationId", "testConfigRule"},
        {"bucket",
         {{"name", bucket}, {"ownerIdentity", {{"principalId", "A" + random_hex(13, true)}}}, {"arn", "arn:aws:s3:::" + bucket}}},
        {"object", std::move(object)}}}};
  return json{{"Records", json::array({std::move(record)})}};
}

Result<json> s3_put(Args const& a) { return s3_event(a, true); }
Result<json> s3_delete(Args const& a) { return s3_event(a, false); }

// A FIFO queue (name ending in .fifo) adds its group, deduplication id
// (content-based: the body's SHA-256) and sequence number.
Result<json> sqs_receive(Args const& a) {
  auto const& body = a.get("body");
  auto const& queue = a.get("queue");
  auto sent = epoch_ms(a.now());
  json attributes = {{"ApproximateReceiveCount", "1"},
                     {"SentTimestamp", std::to_string(sent)},
                     {"SenderId", iam_user_id()},
                     {"ApproximateFirstReceiveTimestamp", std::to_string(sent + 2)}};
  if (queue.ends_with(".fifo")) {
    attributes["MessageGroupId"] = "1";
    attributes["MessageDeduplicationId"] = util::to_hex(util::sha256(body));
    attributes["SequenceNumber"] = random_digits(20);
  }
  json record = {{"messageId", util::uuid4()},
                 {"receiptHandle", "AQEB" + random_base64(120)},
                 {"body", body},
                 {"attributes", std::move(attributes)},
                 {"messageAttributes", json::object()},
                 {"md5OfBody", md5_hex(body)},
                 {"eventSource", "aws:sqs"},
                 {"eventSourceARN", "arn:aws:sqs:" + region(a) + ":" + account(a) + ":" + queue},
                 {"awsRegion", region(a)}};
  return json{{"Records", json::array({std::move(record)})}};
}

Result<json> sns_notification(Args const& a) {
  auto endpoint = "https://sns." + region(a) + ".amazonaws.com";
  auto topic_arn = "arn:aws:sns:" + region(a) + ":" + account(a) + ":" + a.get("topic");
  auto subscription_arn = topic_arn + ":" + util::uuid4();
  json sns = {{"Type", "Notification"},
              {"MessageId", util::uuid4()},
              {"TopicArn", topic_arn},
              {"Subject", a.get("subject")},
              {"Message", a.get("message")},
              {"Timestamp", iso8601(a.now(), true)},
              {"SignatureVersion", "1"},
              {"Signature", random_base64(256)},
              {"SigningCertUrl", endpoint + "/SimpleNotificationService-" + random_hex(32) + ".pem"},
              {"UnsubscribeUrl", endpoint + "/?Action=Unsubscribe&SubscriptionArn=" + subscription_arn},
              {"MessageAttributes", json::object()}};
  json record = {{"EventSource", "aws:sns"},
                 {"EventVersion", "1.0"},
                 {"EventSubscriptionArn", subscription_arn},
                 {"Sns", std::move(sns)}};
  return json{{"Records", json::array({std::move(record)})}};
}

json eventbridge_envelope(Args const& a, std::string const& source, std::string const& detail_type) {
  return {{"version", "0"},         {"id", util::uuid4()},     {"detail-type", detail_type},
          {"source", source},       {"account", account(a)},   {"time", iso8601(a.now(), false)},
          {"region", region(a)},    {"resources", json::array()}, {"detail", json::object()}};
}

Result<json> eventbridge_event(Args const& a) {
  auto detail = json::parse(a.get("detail"), nullptr, false);
  if (detail.is_discarded() || !detail.is_object())
    return plain_error("--detail must be a JSON object, not `" + a.get("detail") + "`");
  auto event = eventbridge_envelope(a, a.get("source"), a.get("detail-type"));
  event["detail"] = std::move(detail);
  return event;
}

Result<json> eventbridge_scheduled(Args const& a) {
  auto event = eventbridge_envelope(a, "aws.events", "Scheduled Event");
  event["resources"].push_back("arn:aws:events:" + region(a) + ":" + account(a) + ":rule/" + a.get("rule"));
  return event;
}

// DynamoDB's own measure of a record: names and values (near enough).
long long image_size(json const& image) {
  long long size = 0;
  for (auto const& [name, value] : image.items()) size += static_cast<long long>(name.size() + value.dump().size());
  return size;
}

json dynamodb_record(Args const& a, std::string const& event_name, json images, std::string const& stream_arn) {
  json change = {{"ApproximateCreationDateTime", epoch_ms(a.now()) / 1000},
                 {"Keys", {{"Id", {{"N", "101"}}}}},
                 {"SequenceNumber", random_digits(26)},
                 {"StreamViewType", "NEW_AND_OLD_IMAGES"}};
  long long size = image_size(change["Keys"]);
  for (auto& [name, image] : images.items()) {
    size += image_size(image);
    change[name] = image;
  }
  change["SizeBytes"] = size;
  return {{"eventID", random_hex(32)},   {"eventName", event_name},   {"eventVersion", "1.1"},
          {"eventSource", "aws:dynamodb"}, {"awsRegion", region(a)}, {"dynamodb", std::move(change)},
          {"eventSourceARN", stream_arn}};
}

// The developer guide's example: an item inserted, changed, then removed.
Result<json> dynamodb_update(Args const& a) {
  auto label = iso8601(a.now(), true);
  label.pop_back();  // the stream label has no "Z"
  auto stream_arn = "arn:aws:dynamodb:" + region(a) + ":" + account(a) + ":table/" + a.get("table") + "/stream/" + label;
  json fresh = {{"Message", {{"S", "New item!"}}}, {"Id", {{"N", "101"}}}};
  json changed = {{"Message", {{"S", "This item has changed"}}}, {"Id", {{"N", "101"}}}};
  json records = json::array();
  records.push_back(dynamodb_record(a, "INSERT", {{"NewImage", fresh}}, stream_arn));
  records.push_back(dynamodb_record(a, "MODIFY", {{"OldImage", fresh}, {"NewImage", changed}}, stream_arn));
  records.push_back(dynamodb_record(a, "REMOVE", {{"OldImage", changed}}, stream_arn));
  return json{{"Records", std::move(records)}};
}

Result<json> kinesis_get_records(Args const& a) {
  auto sequence = random_digits(56);
  json kinesis = {{"kinesisSchemaVersion", "1.0"},
                  {"partitionKey", "1"},
                  {"sequenceNumber", sequence},
                  {"data", util::base64_encode(a.get("data"))},
                  {"approximateArrivalTimestamp", static_cast<double>(epoch_ms(a.now())) / 1000.0}};
  json record = {{"kinesis", std::move(kinesis)},
                 {"eventSource", "aws:kinesis"},
                 {"eventVersion", "1.0"},
                 {"eventID", "shardId-000000000006:" + sequence},
                 {"eventName", "aws:kinesis:record"},
                 {"invokeIdentityArn", "arn:aws:iam::" + account(a) + ":role/lambda-role"},
                 {"awsRegion", region(a)},
                 {"eventSourceARN", "arn:aws:kinesis:" + region(a) + ":" + account(a) + ":stream/" + a.get("stream")}};
  return json{{"Records", json::array({std::move(record)})}};
}

// gzip through libarchive: its raw format (one unnamed file) with the gzip
// filter, written to memory without block padding.
la_ssize_t append_to_string(archive*, void* out, void const* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<char const*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

Result<std::string> gzip(std::string_view data) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
  std::string out;
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  bool ok = archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK && archive_write_set_format_raw(a.get()) == ARCHIVE_OK &&
            archive_write_set_bytes_in_last_block(a.get(), 1) == ARCHIVE_OK &&
            archive_write_open2(a.get(), &out, nullptr, append_to_string, nullptr, nullptr) == ARCHIVE_OK &&
            archive_write_header(a.get(), entry.get()) == ARCHIVE_OK &&
            archive_write_data(a.get(), data.data(), data.size()) == static_cast<la_ssize_t>(data.size()) &&
            archive_write_close(a.get()) == ARCHIVE_OK;
  if (!ok) return plain_error(std::string("gzip: ") + (archive_error_string(a.get()) ? archive_error_string(a.get()) : "failed"));
  return out;
}

// A subscription filter's delivery: awslogs.data is base64(gzip(JSON)),
// one log event a line of --message, ids as the daemon's own log API makes
// them.
Result<json> cloudwatch_logs(Args const& a) {
  auto stream = a.get("log-stream");
  if (stream.empty()) {
    auto day = iso8601(a.now(), false).substr(0, 10);
    for (auto& c : day) c = c == '-' ? '/' : c;
    stream = day + "/[$LATEST]" + random_hex(32);
  }
  json events = json::array();
  auto const& message = a.get("message");
  std::size_t start = 0;
  for (std::uint64_t line = 0; start <= message.size(); ++line) {
    auto end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    auto time = epoch_ms(a.now()) + static_cast<long long>(line);
    logs::LogEvent e{.seq = 0, .time_ms = time, .stream = stream, .message = message.substr(start, end - start), .line = line};
    events.push_back({{"id", logs::event_id(e)}, {"timestamp", time}, {"message", e.message}});
    start = end + 1;
  }
  json payload = {{"messageType", "DATA_MESSAGE"},      {"owner", account(a)},
                  {"logGroup", a.get("log-group")},     {"logStream", stream},
                  {"subscriptionFilters", json::array({a.get("filter")})}, {"logEvents", std::move(events)}};
  auto zipped = gzip(payload.dump());
  if (!zipped) return zipped.error();
  return json{{"awslogs", {{"data", util::base64_encode(*zipped)}}}};
}

struct Entry {
  SampleEventType info;
  Result<json> (*make)(Args const&);
};

// Every type takes --region; all but function URLs (whose accountId is
// "anonymous") take --account.
std::vector<SampleOption> with_common(std::vector<SampleOption> options, bool account_too = true) {
  options.push_back({"region", "us-east-1"});
  if (account_too) options.push_back({"account", "000000000000"});
  return options;
}

std::vector<Entry> const& catalog() {
  static std::vector<Entry> const entries = {
      {{"s3", "put", "S3 notification of an object created (ObjectCreated:Put)",
        with_common({{"bucket", "example-bucket"}, {"key", "test/key"}, {"size", "1024"}})}, s3_put},
      {{"s3", "delete", "S3 notification of an object deleted (ObjectRemoved:Delete)",
        with_common({{"bucket", "example-bucket"}, {"key", "test/key"}})}, s3_delete},
      {{"sqs", "receive-message", "SQS messages as the event source mapping delivers them (a .fifo queue gets FIFO attributes)",
        with_common({{"body", "Test message."}, {"queue", "my-queue"}})}, sqs_receive},
      {{"sns", "notification", "SNS notification delivered to a subscribed function",
        with_common({{"message", "Hello from SNS!"}, {"topic", "sns-lambda"}, {"subject", "TestInvoke"}})}, sns_notification},
      {{"apigateway", "aws-proxy", "API Gateway REST API proxy integration (payload format 1.0)",
        with_common({{"method", "GET"}, {"path", "/path/to/resource"}, {"body", "", true}, {"stage", "prod"}})},
       sample::rest_api_event},
      {{"apigateway", "http-api-proxy", "API Gateway HTTP API (payload format 2.0)",
        with_common({{"method", "GET"}, {"path", "/path/to/resource"}, {"body", "", true}, {"stage", "$default"}})},
       sample::http_api_event},
      {{"lambda", "function-url", "Lambda function URL request (payload format 2.0, auth type NONE)",
        with_common({{"method", "GET"}, {"path", "/"}, {"body", "", true}}, false)}, sample::function_url_event},
      {{"eventbridge", "event", "EventBridge event from a custom source",
        with_common({{"source", "com.example.orders"}, {"detail-type", "Order Placed"}, {"detail", "{}"}})},
       eventbridge_event},
      {{"eventbridge", "scheduled", "EventBridge scheduled rule (\"Scheduled Event\" from aws.events)",
        with_common({{"rule", "my-schedule"}})}, eventbridge_scheduled},
      {{"dynamodb", "update", "DynamoDB stream records: an item inserted, modified and removed",
        with_common({{"table", "ExampleTableWithStream"}})}, dynamodb_update},
      {{"kinesis", "get-records", "Kinesis data stream record (the data base64-encoded)",
        with_common({{"data", "Hello, this is a test."}, {"stream", "lambda-stream"}})}, kinesis_get_records},
      {{"cloudwatch", "logs", "CloudWatch Logs subscription filter delivery (awslogs.data: base64 of gzip; one log event a line)",
        with_common({{"log-group", "/aws/lambda/my-function"}, {"log-stream", "", true},
                     {"message", "Hello from CloudWatch Logs"}, {"filter", "LambdaStream_my-function"}})},
       cloudwatch_logs},
  };
  return entries;
}

std::map<std::string, std::string> const& option_help() {
  static std::map<std::string, std::string> const help = {
      {"account", "account id in ARNs and owner fields"},
      {"region", "AWS region of the event"},
      {"bucket", "S3 bucket name"},
      {"key", "S3 object key as uploaded (URL-encoded in the event, as S3 does)"},
      {"size", "S3 object size in bytes"},
      {"body", "SQS message body, or the HTTP request body"},
      {"queue", "SQS queue name"},
      {"message", "SNS message, or CloudWatch Logs messages (one event a line)"},
      {"topic", "SNS topic name"},
      {"subject", "SNS subject"},
      {"method", "HTTP method"},
      {"path", "HTTP request path, with ?query if any"},
      {"stage", "API Gateway stage"},
      {"source", "EventBridge source"},
      {"detail-type", "EventBridge detail-type"},
      {"detail", "EventBridge detail (a JSON object)"},
      {"rule", "EventBridge rule name of a scheduled event"},
      {"table", "DynamoDB table name"},
      {"data", "Kinesis record data (text; base64-encoded into the event)"},
      {"stream", "Kinesis stream name"},
      {"log-group", "CloudWatch Logs log group"},
      {"log-stream", "CloudWatch Logs log stream (default: YYYY/MM/DD/[$LATEST]<32 hex>)"},
      {"filter", "CloudWatch Logs subscription filter name"},
  };
  return help;
}

std::string services_list() {
  std::vector<std::string> seen;
  std::string out;
  for (auto const& e : catalog()) {
    if (std::find(seen.begin(), seen.end(), e.info.service) != seen.end()) continue;
    seen.push_back(e.info.service);
    out += (out.empty() ? "" : ", ") + e.info.service;
  }
  return out;
}

std::string types_of(std::string const& service) {
  std::string out;
  for (auto const& e : catalog())
    if (e.info.service == service) out += (out.empty() ? "" : ", ") + e.info.type;
  return out;
}

Result<Entry const*> find_entry(std::string const& service, std::string const& type) {
  bool service_known = false;
  for (auto const& e : catalog()) {
    if (e.info.service != service) continue;
    service_known = true;
    if (e.info.type == type) return &e;
  }
  if (!service_known)
    return plain_error("unknown service `" + service + "`; services: " + services_list() +
                       " (lambdad generate-event --list)");
  if (type.empty()) return plain_error(service + " needs an event type: " + types_of(service));
  return plain_error("unknown " + service + " event type `" + type + "`; " + service + " has: " + types_of(service));
}

Result<void> check_options(SampleEventType const& info, EventOptions const& options) {
  for (auto const& [name, value] : options) {
    bool taken = false;
    for (auto const& o : info.options) taken = taken || o.name == name;
    if (taken) continue;
    std::string list;
    for (auto const& o : info.options) list += (list.empty() ? "--" : ", --") + o.name;
    return plain_error("--" + name + " does not apply to " + info.service + " " + info.type + "; it takes " + list);
  }
  return {};
}

}  // namespace

std::vector<SampleEventType> const& sample_event_types() {
  static std::vector<SampleEventType> const types = [] {
    std::vector<SampleEventType> out;
    for (auto const& e : catalog()) out.push_back(e.info);
    return out;
  }();
  return types;
}

std::vector<std::pair<std::string, std::string>> sample_event_options() {
  return {option_help().begin(), option_help().end()};
}

std::string sample_event_listing() {
  std::string out = "lambdad generate-event SERVICE TYPE [--OPTION VALUE ...] prints a sample event (JSON).\n\n";
  for (auto const& t : sample_event_types()) {
    auto name = t.service + " " + t.type;
    out += "  " + name + std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') + t.description + "\n";
    std::string opts;
    for (auto const& o : t.options)
      opts += " --" + o.name + (o.optional ? "" : " (" + (o.fallback.empty() ? std::string("\"\"") : o.fallback) + ")");
    out += "      " + opts.substr(1) + "\n";
  }
  out += "\nOptions (defaults in parentheses above):\n";
  for (auto const& [name, help] : option_help()) {
    auto flag = "--" + name;
    out += "  " + flag + std::string(flag.size() < 16 ? 16 - flag.size() : 1, ' ') + help + "\n";
  }
  return out;
}

Result<json> make_sample_event(std::string const& service, std::string const& type, EventOptions const& options,
                               system_clock::time_point now) {
  auto entry = find_entry(service, type);
  if (!entry) return entry.error();
  if (auto ok = check_options((*entry)->info, options); !ok) return ok.error();
  return (*entry)->make(Args((*entry)->info, options, now));
}

Result<std::string> generate_event(std::string const& service, std::string const& type, EventOptions const& options) {
  auto event = make_sample_event(service, type, options, system_clock::now());
  if (!event) return event.error();
  return event->dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lambdad::cli
