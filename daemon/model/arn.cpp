#include "arn.hpp"

#include <algorithm>
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

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_of_class(std::string const& s, bool allow_dot) {
  for (char c : s) {
    bool ok = is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' || (allow_dot && c == '.');
    if (!ok) return false;
  }
  return !s.empty();
}

bool valid_account(std::string const& s) {
  if (s.size() != 12) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// "-[a-z]+-\d" from `at` to the end.
bool region_tail(std::string const& s, std::size_t at) {
  if (at >= s.size() || s[at] != '-' || s.size() < at + 4) return false;
  std::size_t dash = s.size() - 2;
  if (s[dash] != '-' || !is_digit(s.back()) || dash == at + 1) return false;
  for (std::size_t i = at + 1; i < dash; ++i)
    if (!is_lower(s[i])) return false;
  return true;
}

bool valid_region(std::string const& s) {
  // (eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}
  std::size_t i = s.rfind("eusc-", 0) == 0 ? 5 : 0;
  if (s.size() < i + 2 || !is_lower(s[i]) || !is_lower(s[i + 1])) return false;
  i += 2;
  if (region_tail(s, i)) return true;
  if (s.compare(i, 4, "-gov") == 0 && region_tail(s, i + 4)) return true;
  if (s.compare(i, 4, "-iso") != 0) return false;
  return region_tail(s, i + 4) || (i + 4 < s.size() && is_lower(s[i + 4]) && region_tail(s, i + 5));
}

bool valid_partition(std::string const& s) {
  // (aws[a-zA-Z-]*)?
  if (s.empty()) return true;
  if (s.rfind("aws", 0) != 0) return false;
  for (std::size_t i = 3; i < s.size(); ++i)
    if (!std::isalpha(static_cast<unsigned char>(s[i])) && s[i] != '-') return false;
  return true;
}

bool valid_qualifier(std::string const& q, NameShape shape) {
  if (q == "$LATEST" || (shape == NameShape::namespaced && q == "$LATEST.PUBLISHED")) return true;
  return all_of_class(q, false);
}

// The patterns as AWS's own messages quote them (LocalStack's AWS-recorded
// tests/aws/services/lambda_/test_lambda_api.snapshot.json,
// test_function_name_and_qualifier_validation, 25-11-2025).
constexpr char const* kCreatePattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
    "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";
constexpr char const* kNamespacedPattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
    "(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";

// Matches the pattern above segment by segment (no element spans a ':'),
// trying its optional groups in a regular expression's greedy order, so
// "function:f" is the function f and "arn:aws:lambda:R:A:function" names a
// function called "function", as AWS reads them.
std::optional<FunctionRef> match_function(std::vector<std::string> const& p, NameShape shape) {
  for (int mask = 15; mask >= 0; --mask) {
    bool arn = mask & 8, region = mask & 4, account = mask & 2, function = mask & 1;
    std::size_t at = 0;
    FunctionRef ref;
    if (arn) {
      if (p.size() < 3 || p[0] != "arn" || !valid_partition(p[1]) || p[2] != "lambda") continue;
      at = 3;
    }
    if (region) {
      if (at >= p.size() || !valid_region(p[at])) continue;
      ref.region = p[at++];
    }
    if (account) {
      if (at >= p.size() || !valid_account(p[at])) continue;
      ref.account = p[at++];
    }
    if (function && (at >= p.size() || p[at++] != "function")) continue;
    std::size_t rest = p.size() - std::min(at, p.size());
    if (rest < 1 || rest > 2 || !all_of_class(p[at], shape == NameShape::namespaced)) continue;
    if (rest == 2 && !valid_qualifier(p[at + 1], shape)) continue;
    ref.name = p[at];
    if (rest == 2) ref.qualifier = p[at + 1];
    return ref;
  }
  return std::nullopt;
}

std::string max_length(std::size_t n) { return "Member must have length less than or equal to " + std::to_string(n); }

}  // namespace

ApiError validation_errors(std::string const& value, std::string const& field,
                           std::vector<std::string> const& constraints) {
  if (constraints.size() == 1) return validation(value, field, constraints.front());
  std::string msg = std::to_string(constraints.size()) + " validation errors detected: ";
  for (std::size_t i = 0; i < constraints.size(); ++i)
    msg += (i ? "; " : "") + ("Value '" + value + "' at '" + field + "' failed to satisfy constraint: ") + constraints[i];
  return {400, "ValidationException", std::move(msg), {}};
}

bool valid_function_name(std::string const& name) { return name.size() <= 64 && all_of_class(name, false); }
bool valid_layer_name(std::string const& name) { return name.size() <= 140 && all_of_class(name, false); }

ApiResult<FunctionRef> parse_function_ref(std::string const& text, NameShape shape) {
  // Lengths from the model (min 1; max 140 or 256). A value breaking both
  // pattern and length gets both, pattern first, as AWS lists them (its
  // raw two-error message in LocalStack's tests/aws/services/events/
  // test_events.snapshot.json, test_create_connection_validations).
  std::size_t max = shape == NameShape::namespaced ? 256 : 140;
  auto ref = match_function(split_colon(text), shape);
  std::vector<std::string> broken;
  if (!ref) broken.push_back(shape == NameShape::namespaced ? kNamespacedPattern : kCreatePattern);
  if (text.empty()) broken.push_back("Member must have length greater than or equal to 1");
  if (text.size() > max) broken.push_back(max_length(max));
  if (!broken.empty()) return validation_errors(text, "functionName", broken);
  return *ref;
}

ApiResult<FunctionRef> parse_new_function_name(std::string const& text) {
  auto ref = parse_function_ref(text, NameShape::function_name);
  if (ref && ref->name.size() > 64) {
    // As AWS answers CreateFunction for a 65-character name (LocalStack's
    // test_lambda_api.snapshot.json, test_function_arns, long_function_name_exc).
    ApiError e = validation(text, "functionName", max_length(64));
    e.type = "InvalidParameterValueException";
    return e;
  }
  return ref;
}

ApiResult<std::string> parse_layer_name(std::string const& text, Identity const& id) {
  // LayerName: min 1, max 140, and this pattern (botocore's model; no AWS
  // message for it is on record).
  auto p = split_colon(text);
  bool is_arn = p.size() == 7 && p[0] == "arn" && valid_partition(p[1]) && p[2] == "lambda" &&
                valid_region(p[3]) && valid_account(p[4]) && p[5] == "layer" && all_of_class(p[6], false);
  bool matches = is_arn || (p.size() == 1 && all_of_class(p[0], false));
  std::vector<std::string> broken;
  if (!matches)
    broken.push_back("Member must satisfy regular expression pattern: "
                     "(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
                     "layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+");
  if (text.empty()) broken.push_back("Member must have length greater than or equal to 1");
  if (text.size() > 140) broken.push_back(max_length(140));
  if (!broken.empty()) return validation_errors(text, "layerName", broken);
  if (!is_arn) return p[0];
  if (p[3] != id.region || p[4] != id.account) return not_found("Layer not found: " + text);
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
