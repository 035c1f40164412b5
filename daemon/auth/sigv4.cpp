#include "sigv4.hpp"

#include "util/crypto.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <variant>

// Messages are AWS's own, as collected (from real AWS answers) by
// dacut/scratchstack-aws-signature (src/constants.rs, src/canonical.rs,
// src/auth.rs), in the order AWS checks them: presence, header syntax,
// host signed, date syntax, clock skew, credential scope, access key,
// signature, then the payload hash.

namespace lambdad::auth {

namespace {

using std::chrono::sys_seconds;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr char const* kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";

Failure missing_token() {
  return {403, "MissingAuthenticationTokenException", "Missing Authentication Token"};
}
Failure incomplete(std::string message) {
  return {403, "IncompleteSignatureException", std::move(message)};
}
Failure invalid_signature(std::string message) {
  return {403, "InvalidSignatureException", std::move(message)};
}
Failure unrecognized_client() {
  return {403, "UnrecognizedClientException", "The security token included in the request is invalid."};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

std::optional<std::string_view> first_header(SignedRequest const& req, std::string_view name) {
  for (auto const& [k, v] : req.headers)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

// Trimall: leading/trailing whitespace dropped, inner runs made one space
// (botocore: ' '.join(value.split())).
std::string trimall(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    if (is_space(v[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < v.size() && !is_space(v[j])) ++j;
    if (!out.empty()) out.push_back(' ');
    out.append(v.substr(i, j - i));
    i = j;
  }
  return out;
}

// Percent-decoding; a component with a broken escape is taken literally (and
// so re-encoded with %25), rather than refused. In a query '+' is a space, as
// the router (Boost.URL's params()) reads it: a signed `a%2Bb` and a forged
// `a+b` must not be the same canonical query yet different parameters.
std::string decode(std::string_view s, bool plus_is_space = false) {
  auto pv = boost::urls::make_pct_string_view(s);
  if (!pv) return std::string(s);
  boost::urls::encoding_opts opts;
  opts.space_as_plus = plus_is_space;
  return pv->decode(opts);
}

// RFC 3986 unreserved kept, every other byte %XX with upper-case hex.
std::string encode(std::string_view s, bool keep_slash = false) {
  static constexpr boost::urls::grammar::lut_chars path_chars = boost::urls::unreserved_chars + '/';
  return keep_slash ? boost::urls::encode(s, path_chars) : boost::urls::encode(s, boost::urls::unreserved_chars);
}

// botocore.utils.remove_dot_segments: RFC 3986 5.2.4, and empty segments
// ("//") dropped as well.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  for (auto seg : split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(seg);
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i) result.push_back('/');
    result.append(out[i]);
  }
  if (path.back() == '/' && !out.empty()) result.push_back('/');
  return result;
}

using Params = std::vector<std::pair<std::string, std::string>>;  // decoded

Params parse_query(std::string_view query) {
  Params out;
  for (auto piece : split(query, '&')) {
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(decode(piece, true), std::string());
    else
      out.emplace_back(decode(piece.substr(0, eq), true), decode(piece.substr(eq + 1), true));
  }
  return out;
}

std::optional<std::string> first_param(Params const& params, std::string_view key) {
  for (auto const& [k, v] : params)
    if (k == key) return v;
  return std::nullopt;
}

std::string canonical_query(Params const& params, bool skip_signature) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (auto const& [k, v] : params) {
    if (skip_signature && k == "X-Amz-Signature") continue;
    encoded.emplace_back(encode(k), encode(v));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (auto const& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

// --- time -------------------------------------------------------------------

std::optional<int> digits(std::string_view s) {
  int n = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::optional<sys_seconds> make_time(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

// YYYYMMDD'T'HHMMSS'Z'
std::optional<sys_seconds> parse_iso_basic(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto y = digits(s.substr(0, 4)), mo = digits(s.substr(4, 2)), d = digits(s.substr(6, 2));
  auto h = digits(s.substr(9, 2)), mi = digits(s.substr(11, 2)), sec = digits(s.substr(13, 2));
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  return make_time(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d), *h, *mi, *sec);
}

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT": what botocore puts in a Date
// header when the request already had one.
std::optional<sys_seconds> parse_http_date(std::string_view s) {
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s.substr(25) != " GMT" || s[19] != ':' || s[22] != ':') return std::nullopt;
  auto d = digits(s.substr(5, 2)), y = digits(s.substr(12, 4));
  auto h = digits(s.substr(17, 2)), mi = digits(s.substr(20, 2)), sec = digits(s.substr(23, 2));
  auto mon = std::find(months.begin(), months.end(), s.substr(8, 3));
  if (!d || !y || !h || !mi || !sec || mon == months.end()) return std::nullopt;
  return make_time(*y, static_cast<unsigned>(mon - months.begin() + 1), static_cast<unsigned>(*d), *h, *mi, *sec);
}

std::string iso_basic(sys_seconds t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string span_text(std::chrono::seconds s) {
  if (s.count() % 60 == 0) return std::to_string(s.count() / 60) + " min";
  return std::to_string(s.count()) + " sec";
}

// --- crypto -----------------------------------------------------------------

// --- the parts of a signature, from either place ------------------------------

struct Parts {
  std::string credential;
  std::string signature;
  std::vector<std::string> signed_headers;  // lower-cased, sorted
  std::string date;                        // as sent
  bool date_is_x_amz = true;
  bool presigned = false;
  std::optional<std::chrono::seconds> expires;
};

std::vector<std::string> signed_header_list(std::string_view text) {
  std::vector<std::string> out;
  for (auto h : split(text, ';')) out.push_back(lowered(h));
  std::sort(out.begin(), out.end());
  return out;
}

std::variant<Parts, Failure> from_header(SignedRequest const& req, std::string_view auth) {
  auth = trim(auth);
  auto space = auth.find(' ');
  std::string_view algorithm = auth.substr(0, space);
  if (algorithm != kAlgorithm) return incomplete("Unsupported AWS 'algorithm': '" + std::string(algorithm) + "'.");
  std::string_view rest = space == std::string_view::npos ? std::string_view() : auth.substr(space + 1);

  std::optional<std::string_view> credential, signature, signed_headers;
  for (auto raw : split(rest, ',')) {
    auto param = trim(raw);
    if (param.empty()) continue;
    auto eq = param.find('=');
    if (eq == std::string_view::npos)
      return incomplete("'" + std::string(param) + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
                        std::string(auth) + "'");
    auto key = param.substr(0, eq), value = param.substr(eq + 1);
    if (key == "Credential") credential = value;
    else if (key == "Signature") signature = value;
    else if (key == "SignedHeaders") signed_headers = value;
  }

  Parts p;
  std::string missing;
  auto need = [&](char const* text) {
    if (!missing.empty()) missing.push_back(' ');
    missing += text;
  };
  if (credential) p.credential = *credential;
  else need("Authorization header requires 'Credential' parameter.");
  if (signature) p.signature = *signature;
  else need("Authorization header requires 'Signature' parameter.");
  if (signed_headers) p.signed_headers = signed_header_list(*signed_headers);
  else need("Authorization header requires 'SignedHeaders' parameter.");
  if (auto d = first_header(req, "x-amz-date")) {
    p.date = *d;
  } else if (auto date = first_header(req, "date")) {
    p.date = *date;
    p.date_is_x_amz = false;
  } else {
    need("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!missing.empty()) return incomplete(missing + " Authorization=" + std::string(kAlgorithm));
  return p;
}

std::variant<Parts, Failure> from_query(Params const& params, std::string const& algorithm) {
  if (algorithm != kAlgorithm) return missing_token();
  Parts p;
  p.presigned = true;
  std::string missing;
  auto need = [&](char const* text) {
    if (!missing.empty()) missing.push_back(' ');
    missing += text;
  };
  if (auto v = first_param(params, "X-Amz-Credential")) p.credential = *v;
  else need("AWS query-string parameters must include 'X-Amz-Credential'.");
  if (auto v = first_param(params, "X-Amz-Signature")) p.signature = *v;
  else need("AWS query-string parameters must include 'X-Amz-Signature'.");
  if (auto v = first_param(params, "X-Amz-SignedHeaders")) p.signed_headers = signed_header_list(*v);
  else need("AWS query-string parameters must include 'X-Amz-SignedHeaders'.");
  if (auto v = first_param(params, "X-Amz-Date")) p.date = *v;
  else need("AWS query-string parameters must include 'X-Amz-Date'.");
  if (!missing.empty()) return incomplete(missing + " Re-examine the query-string parameters.");
  if (auto v = first_param(params, "X-Amz-Expires")) {
    auto n = v->size() <= 9 ? digits(*v) : std::nullopt;
    if (!n) return incomplete("X-Amz-Expires should be a number");
    if (*n > 604800) return incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    p.expires = std::chrono::seconds(*n);
  }
  return p;
}

// The signature of `req` (botocore's canonical request for non-S3 services:
// the raw path encoded again, the query sorted, the named headers trimmed),
// made with `secret` for the scope date/region/service/terminator.
std::string signature_of(SignedRequest const& req, std::string_view raw_path, Params const& params,
                         std::vector<std::string> const& signed_headers, bool presigned,
                         std::string const& payload_hash, std::string const& timestamp,
                         std::array<std::string_view, 4> scope, std::string const& secret) {
  std::string canonical = req.method;
  canonical += '\n';
  canonical += encode(remove_dot_segments(raw_path), true);
  canonical += '\n';
  canonical += canonical_query(params, presigned);
  canonical += '\n';
  std::string signed_line;
  for (auto const& name : signed_headers) {
    if (!signed_line.empty()) signed_line.push_back(';');
    signed_line += name;
    std::string values;
    bool found = false;
    for (auto const& [k, v] : req.headers) {
      if (!iequals(k, name)) continue;
      if (found) values.push_back(',');
      values += trimall(v);
      found = true;
    }
    if (found) canonical.append(name).append(":").append(values).append("\n");
  }
  canonical += '\n';
  canonical += signed_line;
  canonical += '\n';
  canonical += payload_hash;
  std::string const string_to_sign = std::string(kAlgorithm) + '\n' + timestamp + '\n' + std::string(scope[0]) +
                                     '/' + std::string(scope[1]) + '/' + std::string(scope[2]) + '/' +
                                     std::string(scope[3]) + '\n' + util::to_hex(util::sha256(canonical));
  // kSigning = HMAC chain over date, region, service, terminator.
  auto k = util::hmac_sha256("AWS4" + secret, scope[0]);
  for (std::size_t i = 1; i < scope.size(); ++i) k = util::hmac_sha256(util::bytes(k), scope[i]);
  return util::to_hex(util::hmac_sha256(util::bytes(k), string_to_sign));
}

}  // namespace

std::optional<Failure> verify(SignedRequest const& req, std::map<std::string, std::string> const& keys,
                              std::chrono::system_clock::time_point now_tp) {
  // Split the target: path and query, still encoded; a fragment is dropped.
  std::string_view target = req.target;
  target = target.substr(0, target.find('#'));
  auto qmark = target.find('?');
  std::string_view raw_path = target.substr(0, qmark);
  std::string_view raw_query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  Params params = parse_query(raw_query);

  // 1. Which form, if any. The Authorization header wins over a presigned query.
  std::variant<Parts, Failure> got;
  if (auto auth = first_header(req, "authorization"))
    got = from_header(req, *auth);
  else if (auto algorithm = first_param(params, "X-Amz-Algorithm"))
    got = from_query(params, *algorithm);
  else
    return missing_token();
  if (auto* f = std::get_if<Failure>(&got)) return std::move(*f);
  Parts& p = std::get<Parts>(got);

  // 2. Host must be signed.
  bool host_signed = std::any_of(p.signed_headers.begin(), p.signed_headers.end(),
                                 [](std::string const& h) { return h == "host" || h == ":authority"; });
  if (!host_signed) return invalid_signature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

  // 3. The date, and how far it is from now.
  std::optional<sys_seconds> when = parse_iso_basic(p.date);
  if (!when && !p.date_is_x_amz) when = parse_http_date(p.date);
  if (!when)
    return incomplete("Date must be in ISO-8601 'basic format'. Got '" + p.date +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  std::string const timestamp = iso_basic(*when);
  auto const now = std::chrono::floor<std::chrono::seconds>(now_tp);
  std::chrono::seconds const past = p.expires ? *p.expires : std::chrono::seconds(kAllowedClockSkew);
  std::chrono::seconds const future = kAllowedClockSkew;
  if (*when < now - past)
    return invalid_signature("Signature expired: " + timestamp + " is now earlier than " + iso_basic(now - past) + " (" +
                             iso_basic(now) + " - " + span_text(past) + ".)");
  if (*when > now + future)
    return invalid_signature("Signature not yet current: " + timestamp + " is still later than " +
                             iso_basic(now + future) + " (" + iso_basic(now) + " + " + span_text(future) + ".)");

  // 4. The credential scope: AKID/YYYYMMDD/region/service/aws4_request.
  auto scope = split(p.credential, '/');
  if (scope.size() != 5)
    return incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
        p.credential + "'");
  std::string scope_errors;
  auto scope_error = [&](std::string text) {
    if (!scope_errors.empty()) scope_errors.push_back(' ');
    scope_errors += text;
  };
  if (scope[2].empty()) scope_error("Credential should be scoped to a valid region.");
  if (scope[3].empty()) scope_error("Credential should be scoped to a valid service.");
  if (scope[4] != kTerminator)
    scope_error("Credential should be scoped with a valid terminator: 'aws4_request', not '" + std::string(scope[4]) +
                "'.");
  if (scope[1] != std::string_view(timestamp).substr(0, 8))
    scope_error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                std::string(scope[1]) + "' != '" + timestamp.substr(0, 8) + "', from '" + timestamp + "'.");
  if (!scope_errors.empty()) return invalid_signature(scope_errors);

  // 5. The access key.
  auto key = keys.find(std::string(scope[0]));
  if (key == keys.end()) return unrecognized_client();

  // 6. The canonical request, as botocore builds it, and its signature.
  auto const content_sha = first_header(req, "x-amz-content-sha256");
  std::string const body_sha = req.body_sha256 ? *req.body_sha256 : util::to_hex(util::sha256(req.body));
  std::string const expected =
      signature_of(req, raw_path, params, p.signed_headers, p.presigned, content_sha ? std::string(*content_sha) : body_sha,
                   timestamp, {scope[1], scope[2], scope[3], scope[4]}, key->second);
  std::string const provided = lowered(p.signature);
  if (provided.size() != expected.size() || CRYPTO_memcmp(provided.data(), expected.data(), expected.size()) != 0)
    return invalid_signature(kMismatch);

  // 7. A signed payload hash must be the body's.
  if (content_sha && *content_sha != kUnsignedPayload && lowered(trim(*content_sha)) != body_sha)
    return invalid_signature("The provided 'x-amz-content-sha256' header does not match what was computed.");
  return std::nullopt;
}

void sign(SignedRequest& req, std::string const& access_key, std::string const& secret, std::string const& region,
          std::string const& service, std::chrono::system_clock::time_point now) {
  std::string_view target = req.target;
  auto qmark = target.find('?');
  std::string_view raw_path = target.substr(0, qmark);
  Params params = parse_query(qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1));
  std::string const timestamp = iso_basic(std::chrono::floor<std::chrono::seconds>(now));
  std::string const date = timestamp.substr(0, 8);
  std::erase_if(req.headers, [](auto const& h) { return iequals(h.first, "authorization") || iequals(h.first, "x-amz-date"); });
  req.headers.emplace_back("X-Amz-Date", timestamp);
  std::vector<std::string> names;
  for (auto const& [k, v] : req.headers) names.push_back(lowered(k));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_line;
  for (auto const& n : names) signed_line += (signed_line.empty() ? "" : ";") + n;
  std::string const signature =
      signature_of(req, raw_path, params, names, false, util::to_hex(util::sha256(req.body)), timestamp,
                   {date, region, service, kTerminator}, secret);
  req.headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + access_key + "/" + date + "/" +
                                                region + "/" + service + "/" + std::string(kTerminator) +
                                                ", SignedHeaders=" + signed_line + ", Signature=" + signature);
}

}  // namespace lambdad::auth
