#include "arn.hpp"

#include <stdexcept>
#include <vector>

namespace boost::system {
void throw_exception_from_error(lambdad::model::ApiError const& e, boost::source_location const&) {
  throw std::runtime_error(e.type + ": " + e.message);
}
}  // namespace boost::system

namespace lambdad::model {

namespace {

std::vector<std::string> split_colon(std::string const& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = s.find(':', start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

bool all_of_class(std::string const& s, bool allow_dollar) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || (allow_dollar && c == '$');
    if (!ok) return false;
  }
  return !s.empty();
}

bool valid_account(std::string const& s) {
  if (s.size() != 12) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool valid_region(std::string const& s) {
  // [a-z]{2}(-gov)?-[a-z]+-\d
  if (s.size() < 6) return false;
  auto last_dash = s.rfind('-');
  if (last_dash == std::string::npos || last_dash + 2 != s.size()) return false;
  if (s.back() < '0' || s.back() > '9') return false;
  for (std::size_t i = 0; i < last_dash; ++i)
    if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')) return false;
  return s[2] == '-';
}

bool valid_qualifier(std::string const& q) {
  return q == "$LATEST" || (q.size() <= 128 && all_of_class(q, false));
}

constexpr char const* kFunctionPattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
    "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

}  // namespace

bool valid_function_name(std::string const& name) { return name.size() <= 64 && all_of_class(name, false); }
bool valid_layer_name(std::string const& name) { return name.size() <= 140 && all_of_class(name, false); }

ApiResult<FunctionRef> parse_function_ref(std::string const& text, std::string const& field) {
  auto bad = [&] { return validation(text, field, kFunctionPattern); };
  if (text.empty() || text.size() > 170) return bad();
  auto p = split_colon(text);
  FunctionRef ref;
  std::size_t name_at = 0;
  if (p.size() >= 7 && p[0] == "arn") {
    if (p[1].rfind("aws", 0) != 0 || p[2] != "lambda" || !valid_region(p[3]) || !valid_account(p[4]) ||
        p[5] != "function" || p.size() > 8)
      return bad();
    ref.region = p[3];
    ref.account = p[4];
    name_at = 6;
  } else if (p.size() >= 3 && p[1] == "function") {
    if (!valid_account(p[0]) || p.size() > 4) return bad();
    ref.account = p[0];
    name_at = 2;
  } else if (p.size() > 2) {
    return bad();
  }
  ref.name = p[name_at];
  if (!valid_function_name(ref.name)) return bad();
  if (p.size() == name_at + 2) {
    if (!valid_qualifier(p[name_at + 1])) return bad();
    ref.qualifier = p[name_at + 1];
  }
  return ref;
}

ApiResult<std::string> parse_layer_name(std::string const& text, Identity const& id) {
  auto bad = [&] {
    return validation(text, "layerName",
                      "Member must satisfy regular expression pattern: "
                      "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+");
  };
  auto p = split_colon(text);
  if (p.size() == 1) {
    if (!valid_layer_name(p[0])) return bad();
    return p[0];
  }
  if (p.size() != 7 || p[0] != "arn" || p[2] != "lambda" || p[5] != "layer" || !valid_layer_name(p[6]) ||
      !valid_account(p[4]))
    return bad();
  if (p[3] != id.region || p[4] != id.account)
    return not_found("Layer not found: " + text);
  return p[6];
}

std::optional<LayerVersionRef> parse_layer_version_arn(std::string const& text, Identity const& id) {
  auto p = split_colon(text);
  if (p.size() != 8 || p[0] != "arn" || p[1].rfind("aws", 0) != 0 || p[2] != "lambda" || p[3] != id.region ||
      p[4] != id.account || p[5] != "layer" || !valid_layer_name(p[6]))
    return std::nullopt;
  if (p[7].empty() || p[7].size() > 9) return std::nullopt;
  for (char c : p[7])
    if (c < '0' || c > '9') return std::nullopt;
  int v = std::stoi(p[7]);
  if (v < 1) return std::nullopt;
  return LayerVersionRef{p[6], v};
}

std::string function_arn(Identity const& id, std::string const& name) {
  return "arn:aws:lambda:" + id.region + ":" + id.account + ":function:" + name;
}
std::string layer_arn(Identity const& id, std::string const& name) {
  return "arn:aws:lambda:" + id.region + ":" + id.account + ":layer:" + name;
}
std::string layer_version_arn(Identity const& id, std::string const& name, int version) {
  return layer_arn(id, name) + ":" + std::to_string(version);
}

}  // namespace lambdad::model
