// A function URL's CORS configuration (the API's Cors shape) and what it does
// to the HTTP exchange: Lambda answers preflights itself and adds the
// configured headers to every other response (urls-configuration.md, "Cross-
// origin resource sharing (CORS)"; API Gateway's HTTP API CORS, which the
// same settings mirror: http-api-cors.html). Pure: plain data in and out.
#pragma once

#include "event.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lambdad::urls {

struct Cors {
  std::optional<bool> allow_credentials;  // as set (GetFunctionUrlConfig returns what was given)
  std::vector<std::string> allow_headers;
  std::vector<std::string> allow_methods;  // "*" allowed
  std::vector<std::string> allow_origins;  // "*" allowed
  std::vector<std::string> expose_headers;
  std::optional<int> max_age;
};

// The API shape {"AllowCredentials": true, "AllowHeaders": [..], "AllowMethods":
// [..], "AllowOrigins": [..], "ExposeHeaders": [..], "MaxAge": 300}.
// cors_from_json reads the members of the right type and ignores the rest
// (validation is the API's); to_json writes only the members set (a list
// only when not empty).
Cors cors_from_json(nlohmann::json const& j);
nlohmann::json to_json(Cors const& cors);

// OPTIONS with Origin and Access-Control-Request-Method headers: with a CORS
// configuration, Lambda answers it without invoking the function. (Without
// one, the caller invokes the function as for any request.)
bool is_preflight(HttpRequest const& req);
// The answer to a preflight: 200 with an empty body; the CORS headers only
// when the Origin is allowed.
HttpResponse preflight(Cors const& cors, HttpRequest const& req);
// For every other response of a URL with a CORS configuration (the 502 of a
// failed function too): drops the function's own Access-Control-* headers
// (the configuration wins) and adds the configured ones when the Origin is
// allowed.
void apply_cors(Cors const& cors, HttpRequest const& req, HttpResponse& resp);

}  // namespace lambdad::urls
