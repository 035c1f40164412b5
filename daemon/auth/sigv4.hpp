// Server side of AWS Signature Version 4: checks a request's Authorization
// header (or presigned X-Amz-* query) the way AWS does, and answers the error
// AWS would answer. The canonical request is botocore's for non-S3 services:
// the raw path is URI-encoded a second time, after removing dot segments and
// empty segments. Any region and any service are accepted in the credential
// scope (Lambda and STS share one endpoint here). Pure function, any thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::auth {

// An error as Lambda names it. status is always 403; type is the
// x-amzn-ErrorType (e.g. "InvalidSignatureException").
struct Failure {
  unsigned status;
  std::string type;
  std::string message;
};

struct SignedRequest {
  std::string method;  // "GET"
  // Raw request-target as received, still percent-encoded:
  // "/2015-03-31/functions/arn%3Aaws%3Alambda%3A.../invocations?Qualifier=x"
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, any case, duplicates kept
  std::string_view body;
  // hex SHA-256 of `body`, when the caller hashed it already (elsewhere than
  // on its event loop); verify() hashes `body` itself otherwise.
  std::optional<std::string> body_sha256 = std::nullopt;
};

// Maximum distance between the request's date and now (either way) for
// header-signed requests.
inline constexpr std::chrono::minutes kAllowedClockSkew{5};

// keys: access key id -> secret access key. std::nullopt when the signature is
// good.
std::optional<Failure> verify(SignedRequest const& req, std::map<std::string, std::string> const& keys,
                              std::chrono::system_clock::time_point now);

// The client side, for lambdad's own commands: adds X-Amz-Date and an
// Authorization header signing every header present (Host included) and the
// body, as botocore would.
void sign(SignedRequest& req, std::string const& access_key, std::string const& secret, std::string const& region,
          std::string const& service, std::chrono::system_clock::time_point now);

}  // namespace lambdad::auth
