// Destinations that are other AWS services (SQS, SNS, EventBridge), and
// dead-letter queues: lambdad delivers to them through those services' own
// APIs, at an endpoint the user runs (LocalStack, ElasticMQ ...), signed with
// Signature Version 4 and the configured keys, as Lambda's service would.
// SQS SendMessage and SNS Publish in their query protocol, EventBridge
// PutEvents in JSON 1.1 (botocore's models). On the io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lambdad::events {

// --destination-endpoint-url and the keys (the [destinations] section).
struct DeliveryConfig {
  std::string endpoint_url;  // "http://127.0.0.1:4566"; "" none: such destinations are refused
  std::string access_key_id = "test";
  std::string secret_access_key = "test";
  std::string region = "us-east-1";  // the daemon's
};

// A request to a service, before signing.
struct ServiceRequest {
  std::string service;  // the signing name: "sqs", "sns", "events"
  std::string region;   // the target's (its ARN's): signed for, as its service expects
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host, Content-Type and the signature's
  std::string body;
};

// The service an ARN names ("sqs", "sns", "events", "lambda" ...), or "".
std::string arn_service(std::string const& arn);
// Whether lambdad can deliver to this destination ARN at all (SQS, SNS, EventBridge).
bool deliverable(std::string const& arn);

// A destination record: SQS SendMessage, SNS Publish, or EventBridge
// PutEvents with Lambda's source and detail type ("Lambda Function
// Invocation Result - Success" or "- Failure").
std::optional<ServiceRequest> destination_request(std::string const& arn, std::string const& record, bool success,
                                                  std::string const& function_arn, DeliveryConfig const& cfg);
// A dead-letter message: the event itself, with the attributes RequestID,
// ErrorCode and ErrorMessage (SQS or SNS only).
std::optional<ServiceRequest> dead_letter_request(std::string const& arn, std::string const& payload,
                                                  std::string const& request_id, std::string const& error_message,
                                                  DeliveryConfig const& cfg);

// Sends `req` to the configured endpoint (plain HTTP, 10 s at most): the
// reason it failed, or nothing once the service answered 2xx (and, for
// PutEvents, FailedEntryCount 0).
boost::asio::awaitable<std::optional<std::string>> send(ServiceRequest req, DeliveryConfig cfg);

// The endpoint's problem, or nothing: http://HOST[:PORT] only.
std::optional<std::string> check_endpoint(std::string const& url);

}  // namespace lambdad::events
