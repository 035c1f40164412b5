// The route table's entries: one operation, its method and path pattern,
// its handler, and what the front needs before the body is read (which
// body limit applies, whether SigV4 is required).
#pragma once

#include "control_plane.hpp"

#include <string_view>

namespace lambdad::api {

enum class BodyLimit { request, invoke };

struct Route {
  boost::beast::http::verb method;
  // Segments; "{x}" takes one segment as call.params["x"], a trailing "/"
  // in the request is ignored. "/" alone is the root.
  std::string_view pattern;
  std::string_view operation;  // AWS's name, as in the refusals that quote it
  boost::asio::awaitable<Response> (ControlPlane::*handler)(Call);
  BodyLimit limit = BodyLimit::request;
  bool needs_signature = true;  // false: open even with auth = sigv4 (probes, scrapers)
};

// The parameters of `segs` against `pattern`, or nothing if it does not match.
std::optional<std::map<std::string, std::string>> match_pattern(std::string_view pattern,
                                                                std::vector<std::string> const& segs);

}  // namespace lambdad::api
