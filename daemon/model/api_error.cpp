#include "api_error.hpp"

namespace lambdad::model {

ApiError not_found(std::string message) { return {404, "ResourceNotFoundException", std::move(message), {}}; }
ApiError conflict(std::string message) { return {409, "ResourceConflictException", std::move(message), {}}; }
ApiError invalid_parameter(std::string message) {
  return {400, "InvalidParameterValueException", std::move(message), {}};
}
ApiError invalid_request_content(std::string message) {
  return {400, "InvalidRequestContentException", std::move(message), {}};
}
ApiError validation(std::string const& value, std::string const& field, std::string const& constraint) {
  return {400, "ValidationException",
          "1 validation error detected: Value '" + value + "' at '" + field +
              "' failed to satisfy constraint: " + constraint,
          {}};
}
ApiError service_error(std::string message) { return {500, "ServiceException", std::move(message), {}}; }

}  // namespace lambdad::model
