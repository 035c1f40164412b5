// `lambdad generate-event`'s events: each type's shape (the fields the AWS
// Lambda developer guide's example shows), options landing in their fields,
// JSON escaping of any option text, times in each service's format at a
// fixed instant, and the errors for unknown services, types and options.
#include <doctest/doctest.h>

#include "cli/sample_events.hpp"
#include "util/crypto.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>

using lambdad::cli::EventOptions;
using lambdad::cli::make_sample_event;
using json = nlohmann::ordered_json;

namespace {

// 2020-03-12T19:03:58.390Z
std::chrono::system_clock::time_point const when{std::chrono::milliseconds{1584039838390}};

json event(std::string const& service, std::string const& type, EventOptions const& options = {}) {
  auto e = make_sample_event(service, type, options, when);
  REQUIRE_MESSAGE(e.has_value(), (e ? "" : e.error().message()));
  // What is printed parses back to the same event.
  auto text = e->dump(2);
  return json::parse(text);
}

std::string error_of(std::string const& service, std::string const& type, EventOptions const& options = {}) {
  auto e = make_sample_event(service, type, options, when);
  REQUIRE_FALSE(e.has_value());
  return e.error().message();
}

bool matches(json const& v, char const* pattern) { return v.is_string() && std::regex_match(v.get<std::string>(), std::regex(pattern)); }

std::string gunzip(std::string const& data) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  std::string out;
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a, data.data(), data.size()) == ARCHIVE_OK && archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  archive_read_free(a);
  return out;
}

// Text that needs escaping in JSON: quotes, a backslash, control
// characters, non-ASCII.
std::string const nasty = "say \"hi\" \\ tab\tnew\nline \x01 caf\xc3\xa9 \xe2\x9c\x93 </script>";

}  // namespace

TEST_CASE("every type is listed and generates with its defaults") {
  auto const& types = lambdad::cli::sample_event_types();
  CHECK(types.size() == 12);
  auto listing = lambdad::cli::sample_event_listing();
  std::set<std::string> option_names;
  for (auto const& [name, help] : lambdad::cli::sample_event_options()) option_names.insert(name);
  for (auto const& t : types) {
    CAPTURE(t.service + " " + t.type);
    CHECK(listing.find(t.service + " " + t.type) != std::string::npos);
    CHECK(make_sample_event(t.service, t.type, {}, when).has_value());
    for (auto const& o : t.options) CHECK(option_names.count(o.name) == 1);
  }
}

TEST_CASE("unknown services, types and options name what exists") {
  auto e = error_of("s4", "put");
  CHECK(e.find("unknown service `s4`") != std::string::npos);
  CHECK(e.find("s3, sqs, sns, apigateway, lambda, eventbridge, dynamodb, kinesis, cloudwatch") != std::string::npos);
  CHECK(error_of("s3", "get") == "unknown s3 event type `get`; s3 has: put, delete");
  CHECK(error_of("apigateway", "") == "apigateway needs an event type: aws-proxy, http-api-proxy");
  CHECK(error_of("sqs", "receive-message", {{"bucket", "b"}}) ==
        "--bucket does not apply to sqs receive-message; it takes --body, --queue, --region, --account");
  CHECK(error_of("lambda", "function-url", {{"account", "1"}}).find("--account does not apply") == 0);
}

TEST_CASE("s3 put: the notification record, the key URL-encoded as S3 does") {
  auto j = event("s3", "put", {{"bucket", "logs.example.com"}, {"key", "s3/2022-07-04 a(1)=b+c/caf\xc3\xa9.log"},
                               {"size", "4321"}, {"region", "eu-west-1"}});
  REQUIRE(j["Records"].size() == 1);
  auto const& r = j["Records"][0];
  CHECK(r["eventVersion"] == "2.1");
  CHECK(r["eventSource"] == "aws:s3");
  CHECK(r["awsRegion"] == "eu-west-1");
  CHECK(r["eventTime"] == "2020-03-12T19:03:58.390Z");
  CHECK(r["eventName"] == "ObjectCreated:Put");
  CHECK(r["requestParameters"]["sourceIPAddress"] == "127.0.0.1");
  CHECK(matches(r["responseElements"]["x-amz-request-id"], "[0-9A-F]{16}"));
  CHECK(r["s3"]["s3SchemaVersion"] == "1.0");
  CHECK(r["s3"]["bucket"]["name"] == "logs.example.com");
  CHECK(r["s3"]["bucket"]["arn"] == "arn:aws:s3:::logs.example.com");
  auto const& o = r["s3"]["object"];
  CHECK(o["key"] == "s3/2022-07-04+a%281%29%3Db%2Bc/caf%C3%A9.log");
  CHECK(o["size"] == 4321);
  CHECK(matches(o["eTag"], "[0-9a-f]{32}"));
  CHECK(matches(o["sequencer"], "[0-9A-F]{18}"));
  CHECK(error_of("s3", "put", {{"size", "12kB"}}) == "--size must be a number of bytes, not `12kB`");
}

TEST_CASE("s3 delete: ObjectRemoved:Delete, a key and a sequencer only") {
  auto o = event("s3", "delete", {{"key", "a b"}})["Records"][0];
  CHECK(o["eventName"] == "ObjectRemoved:Delete");
  CHECK(o["s3"]["bucket"]["name"] == "example-bucket");
  CHECK(o["s3"]["object"]["key"] == "a+b");
  CHECK_FALSE(o["s3"]["object"].contains("size"));
  CHECK_FALSE(o["s3"]["object"].contains("eTag"));
  CHECK(o["s3"]["object"].contains("sequencer"));
}

TEST_CASE("sqs receive-message: attributes as epoch-ms strings, the body's MD5, the queue's ARN") {
  auto r = event("sqs", "receive-message", {{"body", "Test message."}, {"queue", "orders"}, {"account", "123456789012"}})["Records"][0];
  CHECK(matches(r["messageId"], "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  CHECK(r["body"] == "Test message.");
  CHECK(r["md5OfBody"] == "e4e68fb7bd0e697a0ae8f1bb342846b3");  // the developer guide's example body and digest
  CHECK(r["attributes"]["SentTimestamp"] == "1584039838390");
  CHECK(r["attributes"]["ApproximateReceiveCount"] == "1");
  CHECK(r["messageAttributes"] == json::object());
  CHECK(r["eventSource"] == "aws:sqs");
  CHECK(r["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders");
  CHECK_FALSE(r["attributes"].contains("MessageGroupId"));
  auto fifo = event("sqs", "receive-message", {{"queue", "orders.fifo"}})["Records"][0];
  CHECK(fifo["attributes"]["MessageGroupId"] == "1");
  CHECK(matches(fifo["attributes"]["SequenceNumber"], "[0-9]{20}"));
}

TEST_CASE("option text is escaped, and comes back byte for byte") {
  CHECK(event("sqs", "receive-message", {{"body", nasty}})["Records"][0]["body"] == nasty);
  auto sns = event("sns", "notification", {{"message", nasty}, {"subject", nasty}})["Records"][0]["Sns"];
  CHECK(sns["Message"] == nasty);
  CHECK(sns["Subject"] == nasty);
  CHECK(event("apigateway", "aws-proxy", {{"body", nasty}})["body"] == nasty);
  CHECK(event("s3", "put", {{"bucket", nasty}})["Records"][0]["s3"]["bucket"]["name"] == nasty);
  auto printed = make_sample_event("sqs", "receive-message", {{"body", nasty}}, when)->dump();
  CHECK(printed.find("say \\\"hi\\\" \\\\ tab\\tnew\\nline \\u0001") != std::string::npos);
}

TEST_CASE("sns notification: the topic, message, subject and SNS's URLs") {
  auto r = event("sns", "notification", {{"topic", "alerts"}, {"message", "m"}, {"subject", "s"}, {"region", "us-west-2"}})["Records"][0];
  CHECK(r["EventSource"] == "aws:sns");
  CHECK(r["EventVersion"] == "1.0");
  CHECK(r["EventSubscriptionArn"].get<std::string>().rfind("arn:aws:sns:us-west-2:000000000000:alerts:", 0) == 0);
  auto const& s = r["Sns"];
  CHECK(s["Type"] == "Notification");
  CHECK(s["TopicArn"] == "arn:aws:sns:us-west-2:000000000000:alerts");
  CHECK(s["Message"] == "m");
  CHECK(s["Subject"] == "s");
  CHECK(s["Timestamp"] == "2020-03-12T19:03:58.390Z");
  CHECK(s["UnsubscribeUrl"].get<std::string>().rfind("https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=", 0) == 0);
}

TEST_CASE("apigateway aws-proxy: payload 1.0 with the method, path, query, body and stage") {
  auto j = event("apigateway", "aws-proxy", {{"method", "post"}, {"path", "/orders/7?x=1&x=2&q=a%20b"}, {"body", "{\"n\":1}"}, {"stage", "dev"}});
  CHECK(j["resource"] == "/{proxy+}");
  CHECK(j["path"] == "/orders/7");
  CHECK(j["httpMethod"] == "POST");
  CHECK(j["pathParameters"] == json{{"proxy", "orders/7"}});
  CHECK(j["queryStringParameters"] == json{{"x", "2"}, {"q", "a b"}});
  CHECK(j["multiValueQueryStringParameters"]["x"] == json::array({"1", "2"}));
  CHECK(j["headers"]["Content-Type"] == "application/json");
  CHECK(j["multiValueHeaders"]["Content-Type"] == json::array({"application/json"}));
  CHECK(j["body"] == "{\"n\":1}");
  CHECK(j["isBase64Encoded"] == false);
  auto const& rc = j["requestContext"];
  CHECK(rc["stage"] == "dev");
  CHECK(rc["path"] == "/dev/orders/7");
  CHECK(rc["httpMethod"] == "POST");
  CHECK(rc["requestTime"] == "12/Mar/2020:19:03:58 +0000");
  CHECK(rc["requestTimeEpoch"] == 1584039838390);
  CHECK(rc["identity"]["sourceIp"] == "127.0.0.1");
  CHECK(rc["accountId"] == "000000000000");
  auto plain = event("apigateway", "aws-proxy", {{"path", "/"}});
  CHECK(plain["resource"] == "/");
  CHECK(plain["body"].is_null());
  CHECK(plain["queryStringParameters"].is_null());
  CHECK(plain["pathParameters"].is_null());
  CHECK(error_of("apigateway", "aws-proxy", {{"method", "FETCH"}}).find("--method must be one of") == 0);
  CHECK(error_of("apigateway", "aws-proxy", {{"path", "orders"}}) == "--path must start with '/', not `orders`");
}

TEST_CASE("apigateway http-api-proxy: payload 2.0, a named stage in rawPath") {
  auto j = event("apigateway", "http-api-proxy", {{"method", "PUT"}, {"path", "/a b?k=v"}, {"body", "plain"}, {"stage", "prod"}});
  CHECK(j["version"] == "2.0");
  CHECK(j["routeKey"] == "$default");
  CHECK(j["rawPath"] == "/prod/a b");
  CHECK(j["rawQueryString"] == "k=v");
  CHECK(j["queryStringParameters"] == json{{"k", "v"}});
  CHECK(j["body"] == "plain");
  CHECK(j["isBase64Encoded"] == false);
  CHECK(j["headers"]["content-type"] == "text/plain");
  CHECK(j["headers"]["x-forwarded-proto"] == "https");
  auto const& rc = j["requestContext"];
  CHECK(rc["stage"] == "prod");
  CHECK(rc["http"]["method"] == "PUT");
  CHECK(rc["timeEpoch"] == 1584039838390);
  CHECK(rc["time"] == "12/Mar/2020:19:03:58 +0000");
  CHECK(rc["domainName"] == rc["apiId"].get<std::string>() + ".execute-api.us-east-1.amazonaws.com");
  auto d = event("apigateway", "http-api-proxy");
  CHECK(d["rawPath"] == "/path/to/resource");
  CHECK(d["requestContext"]["stage"] == "$default");
  CHECK_FALSE(d.contains("body"));
}

TEST_CASE("lambda function-url: payload 2.0 of an auth-type NONE URL") {
  auto j = event("lambda", "function-url", {{"method", "POST"}, {"path", "/hook?id=3"}, {"body", "{}"}, {"region", "eu-central-1"}});
  CHECK(j["version"] == "2.0");
  CHECK(j["rawPath"] == "/hook");
  CHECK(j["rawQueryString"] == "id=3");
  CHECK(j["body"] == "{}");
  auto const& rc = j["requestContext"];
  CHECK(rc["accountId"] == "anonymous");
  CHECK(matches(rc["apiId"], "[0-9a-f]{32}"));
  CHECK(rc["domainName"] == rc["apiId"].get<std::string>() + ".lambda-url.eu-central-1.on.aws");
  CHECK(rc["http"]["method"] == "POST");
  CHECK(rc["stage"] == "$default");
  CHECK_FALSE(rc.contains("authorizer"));
}

TEST_CASE("eventbridge event and scheduled") {
  auto j = event("eventbridge", "event", {{"source", "my.app"}, {"detail-type", "Thing \"Done\""}, {"detail", "{\"id\":7,\"tags\":[\"a\"]}"}});
  CHECK(j["version"] == "0");
  CHECK(j["source"] == "my.app");
  CHECK(j["detail-type"] == "Thing \"Done\"");
  CHECK(j["detail"] == json{{"id", 7}, {"tags", {"a"}}});
  CHECK(j["time"] == "2020-03-12T19:03:58Z");
  CHECK(j["resources"] == json::array());
  CHECK(error_of("eventbridge", "event", {{"detail", "[1]"}}) == "--detail must be a JSON object, not `[1]`");
  CHECK(error_of("eventbridge", "event", {{"detail", "{"}}).find("--detail must be a JSON object") == 0);
  auto s = event("eventbridge", "scheduled", {{"rule", "nightly"}, {"account", "111122223333"}});
  CHECK(s["detail-type"] == "Scheduled Event");
  CHECK(s["source"] == "aws.events");
  CHECK(s["account"] == "111122223333");
  CHECK(s["resources"] == json::array({"arn:aws:events:us-east-1:111122223333:rule/nightly"}));
  CHECK(s["detail"] == json::object());
}

TEST_CASE("dynamodb update: INSERT, MODIFY, REMOVE of one item on the table's stream") {
  auto j = event("dynamodb", "update", {{"table", "Orders"}, {"region", "ap-south-1"}});
  REQUIRE(j["Records"].size() == 3);
  char const* names[] = {"INSERT", "MODIFY", "REMOVE"};
  for (std::size_t i = 0; i < 3; ++i) {
    auto const& r = j["Records"][i];
    CHECK(r["eventName"] == names[i]);
    CHECK(r["eventSource"] == "aws:dynamodb");
    CHECK(r["awsRegion"] == "ap-south-1");
    CHECK(r["eventSourceARN"] == "arn:aws:dynamodb:ap-south-1:000000000000:table/Orders/stream/2020-03-12T19:03:58.390");
    CHECK(r["dynamodb"]["Keys"] == json{{"Id", {{"N", "101"}}}});
    CHECK(r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES");
    CHECK(r["dynamodb"]["ApproximateCreationDateTime"] == 1584039838);
  }
  CHECK(j["Records"][0]["dynamodb"].contains("NewImage"));
  CHECK_FALSE(j["Records"][0]["dynamodb"].contains("OldImage"));
  CHECK(j["Records"][1]["dynamodb"]["NewImage"]["Message"]["S"] == "This item has changed");
  CHECK_FALSE(j["Records"][2]["dynamodb"].contains("NewImage"));
}

TEST_CASE("kinesis get-records: the data base64-encoded, the stream's ARN") {
  auto r = event("kinesis", "get-records", {{"data", nasty}, {"stream", "clicks"}})["Records"][0];
  CHECK(lambdad::util::base64_decode(r["kinesis"]["data"].get<std::string>()) == nasty);
  CHECK(r["eventSource"] == "aws:kinesis");
  CHECK(r["eventName"] == "aws:kinesis:record");
  CHECK(r["eventSourceARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/clicks");
  CHECK(r["kinesis"]["approximateArrivalTimestamp"] == doctest::Approx(1584039838.390));
  CHECK(r["eventID"] == "shardId-000000000006:" + r["kinesis"]["sequenceNumber"].get<std::string>());
}

TEST_CASE("cloudwatch logs: awslogs.data is base64 of gzip of the DATA_MESSAGE") {
  auto j = event("cloudwatch", "logs", {{"log-group", "/aws/lambda/parser"}, {"log-stream", "s1"}, {"message", "first\n" + nasty}});
  // One event a line: nasty has a newline of its own.
  auto cut = nasty.find('\n');
  auto zipped = lambdad::util::base64_decode(j["awslogs"]["data"].get<std::string>());
  REQUIRE(zipped);
  CHECK(zipped->substr(0, 2) == "\x1f\x8b");
  auto payload = json::parse(gunzip(*zipped));
  CHECK(payload["messageType"] == "DATA_MESSAGE");
  CHECK(payload["owner"] == "000000000000");
  CHECK(payload["logGroup"] == "/aws/lambda/parser");
  CHECK(payload["logStream"] == "s1");
  CHECK(payload["subscriptionFilters"] == json::array({"LambdaStream_my-function"}));
  REQUIRE(payload["logEvents"].size() == 3);
  CHECK(payload["logEvents"][0]["message"] == "first");
  CHECK(payload["logEvents"][1]["message"] == nasty.substr(0, cut));
  CHECK(payload["logEvents"][2]["message"] == nasty.substr(cut + 1));
  CHECK(payload["logEvents"][2]["timestamp"] == 1584039838392);
  CHECK(payload["logEvents"][0]["timestamp"] == 1584039838390);
  CHECK(matches(payload["logEvents"][0]["id"], "[0-9]{56}"));
  CHECK(payload["logEvents"][0]["id"] != payload["logEvents"][1]["id"]);
  auto d = event("cloudwatch", "logs");
  auto stream = json::parse(gunzip(*lambdad::util::base64_decode(d["awslogs"]["data"].get<std::string>())))["logStream"];
  CHECK(matches(stream, R"(2020/03/12/\[\$LATEST\][0-9a-f]{32})"));
}
