// An error as the Lambda API reports it: HTTP status, error type (the
// x-amzn-ErrorType header) and message. Plain data; rendered in daemon/api.
#pragma once

#include <string>

namespace lambdad::model {

struct ApiError {
  unsigned status = 400;
  std::string type;
  std::string message;
  std::string reason;  // TooManyRequestsException's Reason, when set
};

ApiError not_found(std::string message);
ApiError conflict(std::string message);
ApiError invalid_parameter(std::string message);
ApiError invalid_request_content(std::string message);
// A request field that breaks a constraint of the service model, worded as
// AWS words it: "1 validation error detected: Value '901' at 'timeout' failed
// to satisfy constraint: Member must have value less than or equal to 900".
ApiError validation(std::string const& value, std::string const& field, std::string const& constraint);
ApiError service_error(std::string message);

}  // namespace lambdad::model
