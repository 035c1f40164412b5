// The endpoint's replies and header lookups, shared by endpoint.cpp and
// routes.cpp. Internal to runtime-api.
#pragma once

#include "endpoint.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace lambdad::runtime_api::detail {

using Reply = boost::beast::http::response<boost::beast::http::string_body>;

inline Reply make_reply(unsigned status, std::string body, unsigned version) {
  Reply r{static_cast<boost::beast::http::status>(status), version};
  r.set(boost::beast::http::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}

inline Reply error_reply(ErrorReply const& e, unsigned version) { return make_reply(e.status, e.body, version); }

inline Outcome outcome_of(Outcome::Kind kind) {
  Outcome o;
  o.kind = kind;
  return o;
}

inline std::optional<std::string_view> header(boost::beast::http::fields const& f, std::string_view name) {
  auto it = f.find(name);
  if (it == f.end()) return std::nullopt;
  return it->value();
}

// A /response the runtime streams (Lambda-Runtime-Function-Response-Mode: streaming).
template <class Header>
bool is_streamed(Header const& h) {
  auto mode = header(h, "Lambda-Runtime-Function-Response-Mode");
  return mode && (*mode == "streaming" || *mode == "Streaming");
}

}  // namespace lambdad::runtime_api::detail
