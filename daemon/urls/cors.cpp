#include "cors.hpp"

#include <algorithm>

namespace lambdad::urls {

using nlohmann::json;

namespace {

std::vector<std::string> strings_of(json const& j, char const* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (auto const& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string join(std::vector<std::string> const& items) {
  std::string out;
  for (auto const& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

bool credentials(Cors const& cors) { return cors.allow_credentials.value_or(false); }

// The Access-Control-Allow-Origin for the request's Origin, if it may have
// one. Origins compare case-insensitively: scheme and host are (RFC 3986
// §3.1, §3.2.2), and a port is digits. A listed origin is echoed; "*" stays
// "*", except with AllowCredentials, where browsers refuse "*" (Fetch
// standard, CORS check) and the origin is echoed instead.
std::optional<std::string> allowed_origin(Cors const& cors, HttpRequest const& req) {
  auto origin = find_header(req.headers, "origin");
  if (!origin) return std::nullopt;
  for (auto const& o : cors.allow_origins)
    if (o != "*" && iequals(o, *origin)) return std::string(*origin);
  if (std::find(cors.allow_origins.begin(), cors.allow_origins.end(), "*") == cors.allow_origins.end())
    return std::nullopt;
  return credentials(cors) ? std::string(*origin) : std::string("*");
}

// An echoed origin makes the response depend on the request's Origin, which
// caches must know (Fetch standard, "CORS protocol and HTTP caches").
void add_vary_origin(std::vector<Header>& headers) {
  for (auto& h : headers) {
    if (!iequals(h.name, "vary")) continue;
    auto value = to_lower(h.value);
    if (value.find("origin") == std::string::npos && value != "*") h.value += ", Origin";
    return;
  }
  headers.push_back({"Vary", "Origin"});
}

// Allow-Origin and Allow-Credentials, which both kinds of response carry;
// false when the origin is not allowed.
bool add_origin_headers(Cors const& cors, HttpRequest const& req, std::vector<Header>& headers) {
  auto origin = allowed_origin(cors, req);
  if (!origin) return false;
  headers.push_back({"Access-Control-Allow-Origin", *origin});
  if (credentials(cors)) headers.push_back({"Access-Control-Allow-Credentials", "true"});
  if (*origin != "*") add_vary_origin(headers);
  return true;
}

}  // namespace

Cors cors_from_json(json const& j) {
  Cors cors;
  if (!j.is_object()) return cors;
  if (auto it = j.find("AllowCredentials"); it != j.end() && it->is_boolean()) cors.allow_credentials = it->get<bool>();
  cors.allow_headers = strings_of(j, "AllowHeaders");
  cors.allow_methods = strings_of(j, "AllowMethods");
  cors.allow_origins = strings_of(j, "AllowOrigins");
  cors.expose_headers = strings_of(j, "ExposeHeaders");
  if (auto it = j.find("MaxAge"); it != j.end() && it->is_number_integer()) cors.max_age = it->get<int>();
  return cors;
}

json to_json(Cors const& cors) {
  json j = json::object();
  if (cors.allow_credentials) j["AllowCredentials"] = *cors.allow_credentials;
  if (!cors.allow_headers.empty()) j["AllowHeaders"] = cors.allow_headers;
  if (!cors.allow_methods.empty()) j["AllowMethods"] = cors.allow_methods;
  if (!cors.allow_origins.empty()) j["AllowOrigins"] = cors.allow_origins;
  if (!cors.expose_headers.empty()) j["ExposeHeaders"] = cors.expose_headers;
  if (cors.max_age) j["MaxAge"] = *cors.max_age;
  return j;
}

// API Gateway's HTTP API CORS: "For the OPTIONS method, your request must
// contain an origin header and an Access-Control-Request-Method header."
bool is_preflight(HttpRequest const& req) {
  return req.method == "OPTIONS" && find_header(req.headers, "origin") &&
         find_header(req.headers, "access-control-request-method");
}

// The configured lists as they are, comma-joined: the browser checks the
// requested method and headers against them. MaxAge only when set.
HttpResponse preflight(Cors const& cors, HttpRequest const& req) {
  HttpResponse out;
  if (!add_origin_headers(cors, req, out.headers)) return out;
  if (!cors.allow_methods.empty()) out.headers.push_back({"Access-Control-Allow-Methods", join(cors.allow_methods)});
  if (!cors.allow_headers.empty()) out.headers.push_back({"Access-Control-Allow-Headers", join(cors.allow_headers)});
  if (cors.max_age) out.headers.push_back({"Access-Control-Max-Age", std::to_string(*cors.max_age)});
  return out;
}

// "If there are conflicting headers, the configured CORS headers on the
// function URL take precedence" (urls-configuration.md); API Gateway: "If
// you configure CORS for an API, API Gateway ignores CORS headers returned
// from your backend integration." So all of the function's go, allowed
// origin or not.
void apply_cors(Cors const& cors, HttpRequest const& req, HttpResponse& resp) {
  std::erase_if(resp.headers, [](Header const& h) { return to_lower(h.name).starts_with("access-control-"); });
  if (!add_origin_headers(cors, req, resp.headers)) return;
  if (!cors.expose_headers.empty()) resp.headers.push_back({"Access-Control-Expose-Headers", join(cors.expose_headers)});
}

}  // namespace lambdad::urls
