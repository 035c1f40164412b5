// SigV4 verification against requests signed by botocore 1.43 (python3-botocore).
//
// The vectors were made with botocore's own signer, its clock replaced by a
// fixed timestamp (add_auth() minus the utcnow() call):
//
//   from botocore.auth import SigV4Auth, SigV4QueryAuth
//   from botocore.awsrequest import AWSRequest
//   from botocore.credentials import Credentials
//   creds = Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
//   def sign(method, url, service, region, body=b'', headers=None, signer=SigV4Auth):
//       req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
//       s = signer(creds, service, region)
//       req.context['timestamp'] = '20261128T123456Z'
//       s._modify_request_before_signing(req)
//       cr = s.canonical_request(req)
//       s._inject_signature_to_request(req, s.signature(s.string_to_sign(req, cr), req))
//       p = req.prepare(); print(p.url, dict(p.headers))
//   sign('GET', 'https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/'
//               '?MaxItems=10&Marker=a%2Fb%20c%2Bd&FunctionVersion=ALL', 'lambda', 'us-east-1')
//   sign('POST', 'https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3A'
//                'eu-west-1%3A123456789012%3Afunction%3Amy-fn/invocations?Qualifier=live', 'lambda', 'eu-west-1',
//        body=b'{"hello": "world"}',
//        headers={'Content-Type': 'application/json', 'X-Amz-Invocation-Type': 'RequestResponse'})
//   sign('POST', 'https://sts.amazonaws.com/', 'sts', 'us-east-1',
//        body=b'Action=GetCallerIdentity&Version=2011-06-15',
//        headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
//   # duplicate header (HTTPHeaders.__setitem__ appends), messy whitespace, dot segments:
//   #   req.headers['X-Amz-Meta'] = '  a   b\t c '; req.headers['X-Amz-Meta'] = 'second'
//   #   url 'https://lambda.us-east-1.amazonaws.com/2015-03-31//functions/./x/../my-fn/configuration'
//   # presigned: signer=lambda c, sv, r: SigV4QueryAuth(c, sv, r, expires=900), GET .../functions/?MaxItems=5
//   # payload hash header: headers={'X-Amz-Content-SHA256': 'UNSIGNED-PAYLOAD'} or sha256(body) on
//   #   POST https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/my-fn/invocations, body b'{"hello": "world"}'
//
// botocore's canonical request for the ARN one (the path is encoded twice):
//   POST
//   /2015-03-31/functions/arn%253Aaws%253Alambda%253Aeu-west-1%253A123456789012%253Afunction%253Amy-fn/invocations
//   Qualifier=live
//   content-type:application/json
//   ...
#include <doctest/doctest.h>

#include "auth/sigv4.hpp"

#include <algorithm>
#include <chrono>
#include <string>

using namespace lambdad::auth;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> const keys = {
    {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    {"AKIDOTHER", "other-secret"},
};

// 2026-11-28T12:34:56Z, the signing time.
system_clock::time_point const signed_at = sys_days{2026y / November / 28} + 12h + 34min + 56s;

std::string const kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";

SignedRequest list_functions() {
  return {"GET",
          "/2015-03-31/functions/?MaxItems=10&Marker=a%2Fb%20c%2Bd&FunctionVersion=ALL",
          {{"Host", "lambda.us-east-1.amazonaws.com"},
           {"User-Agent", "Boto3/1.34 md/Botocore#1.43.11"},  // unsigned: ignored
           {"X-Amz-Date", "20261128T123456Z"},
           {"Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=ccbd6c8392cf0ac050e052a4ebca8bbda9827bd6b4669e10480ca66b58bfbaf9"}},
          ""};
}

std::string const invoke_body = R"({"hello": "world"})";

SignedRequest invoke_arn() {
  return {"POST",
          "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amy-fn/"
          "invocations?Qualifier=live",
          {{"Host", "lambda.eu-west-1.amazonaws.com"},
           {"Content-Type", "application/json"},
           {"X-Amz-Invocation-Type", "RequestResponse"},
           {"X-Amz-Date", "20261128T123456Z"},
           {"Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/lambda/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type, "
            "Signature=1bd815ea39a84b2f7a4dbf4ea80480031c44e598bf1973c3fb9b4996b55d73df"},
           {"Content-Length", "18"}},
          invoke_body};
}

std::string const sts_body = "Action=GetCallerIdentity&Version=2011-06-15";

SignedRequest sts_form() {
  return {"POST",
          "/",
          {{"Host", "sts.amazonaws.com"},
           {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
           {"X-Amz-Date", "20261128T123456Z"},
           {"Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/sts/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=91545e3805a35dd776900ec85ff495bf44da3216fa18941bff853d31a43b078d"},
           {"Content-Length", "43"}},
          sts_body};
}

SignedRequest with_payload_hash(std::string hash, std::string signature) {
  return {"POST",
          "/2015-03-31/functions/my-fn/invocations",
          {{"Host", "lambda.us-east-1.amazonaws.com"},
           {"X-Amz-Content-SHA256", hash},
           {"X-Amz-Date", "20261128T123456Z"},
           {"Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + signature}},
          invoke_body};
}

void set_header(SignedRequest& req, std::string const& name, std::string value) {
  for (auto& [k, v] : req.headers)
    if (k == name) v = std::move(value);
}

void drop_header(SignedRequest& req, std::string const& name) {
  std::erase_if(req.headers, [&](auto const& h) { return h.first == name; });
}

std::optional<Failure> check(SignedRequest const& req, system_clock::time_point now = signed_at) {
  return verify(req, keys, now);
}

// The request is refused (403) with this type and message.
void refused(SignedRequest const& req, std::string const& type, std::string const& message,
             system_clock::time_point now = signed_at, std::map<std::string, std::string> const& with = keys) {
  auto f = verify(req, with, now);
  REQUIRE(f);
  CHECK(f->status == 403);
  CHECK(f->type == type);
  CHECK(f->message == message);
}

std::string header(SignedRequest const& req, std::string const& name) {
  for (auto const& [k, v] : req.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST_CASE("botocore's signatures verify") {
  CHECK_FALSE(check(list_functions()));
  CHECK_FALSE(check(invoke_arn()));
  CHECK_FALSE(check(sts_form()));
  // Within five minutes either way, sub-second parts of now ignored.
  CHECK_FALSE(check(list_functions(), signed_at + 5min + 999ms));
  CHECK_FALSE(check(list_functions(), signed_at - 5min));
}

TEST_CASE("header names in any case") {
  auto req = invoke_arn();
  req.headers[0].first = "host";
  req.headers[1].first = "CONTENT-TYPE";
  req.headers[2].first = "x-amz-invocation-type";
  req.headers[3].first = "x-amz-date";
  req.headers[4].first = "authorization";
  CHECK_FALSE(check(req));
}

TEST_CASE("duplicate headers, whitespace and dot segments as botocore canonicalizes them") {
  SignedRequest req{"GET",
                    "/2015-03-31//functions/./x/../my-fn/configuration",
                    {{"Host", "lambda.us-east-1.amazonaws.com"},
                     {"X-Amz-Meta", "  a   b\t c "},
                     {"X-Amz-Date", "20261128T123456Z"},
                     {"x-amz-meta", "second"},
                     {"Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/lambda/aws4_request, "
                      "SignedHeaders=host;x-amz-date;x-amz-meta, "
                      "Signature=c6eb3e0aa94a769943bf19ad07c177d6fb3a890e91cd0102641b61d49d72fdd6"}},
                    ""};
  CHECK_FALSE(check(req));
  // The order of duplicates is part of the signature.
  std::swap(req.headers[1].second, req.headers[3].second);
  refused(req, "InvalidSignatureException", kMismatch);
}

TEST_CASE("presigned URL") {
  SignedRequest req{"GET",
                    "/2015-03-31/functions/?MaxItems=5&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    "&X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Fus-east-1%2Flambda%2Faws4_request"
                    "&X-Amz-Date=20261128T123456Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                    "&X-Amz-Signature=432335c5ec9d5cbb1fbb4de80beb25c5ea4e038a9ae4a5396cb216a577d39759",
                    {{"Host", "lambda.us-east-1.amazonaws.com"}},
                    ""};
  CHECK_FALSE(check(req));
  CHECK_FALSE(check(req, signed_at + 15min));
  refused(req, "InvalidSignatureException",
          "Signature expired: 20261128T123456Z is now earlier than 20261128T123556Z (20261128T125056Z - 15 min.)",
          signed_at + 16min);

  auto tampered = req;
  tampered.target.replace(tampered.target.find("MaxItems=5"), 10, "MaxItems=6");
  refused(tampered, "InvalidSignatureException", kMismatch);

  auto partial = req;
  partial.target = "/2015-03-31/functions/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261128T123456Z";
  refused(partial, "IncompleteSignatureException",
          "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include "
          "'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the "
          "query-string parameters.");
}

TEST_CASE("X-Amz-Content-SHA256") {
  CHECK_FALSE(check(with_payload_hash("UNSIGNED-PAYLOAD",
                                      "1ce6d76ab271530feb66af62792d8817e2ee017dbc88f6bedaecdb4e0c8a699c")));
  auto const hash = "5f8f04f6a3a892aaabbddb6cf273894493773960d4a325b105fee46eef4304f1";
  auto const sig = "8109e24f764a1661b670d5d53bfa45f17841dfcdba30899cf5f04177e264e5de";
  CHECK_FALSE(check(with_payload_hash(hash, sig)));

  // Signed header intact, body swapped: the signature holds, the hash does not.
  auto req = with_payload_hash(hash, sig);
  std::string other = R"({"hello": "there"})";
  req.body = other;
  refused(req, "InvalidSignatureException",
          "The provided 'x-amz-content-sha256' header does not match what was computed.");

  // Unsigned payload: any body.
  auto unsigned_req =
      with_payload_hash("UNSIGNED-PAYLOAD", "1ce6d76ab271530feb66af62792d8817e2ee017dbc88f6bedaecdb4e0c8a699c");
  unsigned_req.body = other;
  CHECK_FALSE(check(unsigned_req));
}

TEST_CASE("wrong secret") {
  std::map<std::string, std::string> wrong = {{"AKIDEXAMPLE", "not-the-secret"}};
  refused(list_functions(), "InvalidSignatureException", kMismatch, signed_at, wrong);
}

TEST_CASE("unknown access key") {
  std::map<std::string, std::string> other = {{"AKIDOTHER", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
  refused(list_functions(), "UnrecognizedClientException",
          "The security token included in the request is invalid.", signed_at, other);
}

TEST_CASE("no Authorization header") {
  auto req = list_functions();
  drop_header(req, "Authorization");
  refused(req, "MissingAuthenticationTokenException", "Missing Authentication Token");
}

TEST_CASE("tampered body") {
  auto req = invoke_arn();
  std::string other = R"({"hello": "World"})";
  req.body = other;
  refused(req, "InvalidSignatureException", kMismatch);

  auto sts = sts_form();
  std::string assume = "Action=AssumeRole&Version=2011-06-15";
  sts.body = assume;
  refused(sts, "InvalidSignatureException", kMismatch);
}

TEST_CASE("tampered query and path") {
  auto req = list_functions();
  req.target = "/2015-03-31/functions/?MaxItems=11&Marker=a%2Fb%20c%2Bd&FunctionVersion=ALL";
  refused(req, "InvalidSignatureException", kMismatch);

  // Same parameters in another order, or spelled with other (equivalent) escapes: still good.
  req.target = "/2015-03-31/functions/?FunctionVersion=ALL&Marker=a%2fb%20c%2bd&MaxItems=10";
  CHECK_FALSE(check(req));

  // '+' in a query is a space, as the router reads it: standing for the
  // signed space it verifies; standing for the signed "%2B" it does not.
  req.target = "/2015-03-31/functions/?MaxItems=10&Marker=a%2Fb+c%2Bd&FunctionVersion=ALL";
  CHECK_FALSE(check(req));
  req.target = "/2015-03-31/functions/?MaxItems=10&Marker=a%2Fb%20c+d&FunctionVersion=ALL";
  refused(req, "InvalidSignatureException", kMismatch);

  auto arn = invoke_arn();
  arn.target = "/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:my-fn/invocations?Qualifier=live";
  refused(arn, "InvalidSignatureException", kMismatch);  // the raw path is what is signed, so ':' is not '%3A'

}

TEST_CASE("clock skew") {
  refused(list_functions(), "InvalidSignatureException",
          "Signature expired: 20261128T123456Z is now earlier than 20261128T124956Z (20261128T125456Z - 5 min.)",
          signed_at + 20min);

  refused(list_functions(), "InvalidSignatureException",
          "Signature not yet current: 20261128T123456Z is still later than 20261128T121956Z (20261128T121456Z + 5 min.)",
          signed_at - 20min);
}

TEST_CASE("malformed Authorization") {
  auto req = list_functions();
  set_header(req, "Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date");
  refused(req, "IncompleteSignatureException",
          "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
          "parameter. Authorization=AWS4-HMAC-SHA256");

  set_header(req, "Authorization", "AWS4-HMAC-SHA256");
  drop_header(req, "X-Amz-Date");
  refused(req, "IncompleteSignatureException",
          "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
          "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
          "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256");

  req = list_functions();
  set_header(req, "Authorization", "Basic dXNlcjpwYXNz");
  refused(req, "IncompleteSignatureException", "Unsupported AWS 'algorithm': 'Basic'.");

  req = list_functions();
  set_header(req, "Authorization", "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=00");
  refused(req, "IncompleteSignatureException",
          "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
          "'AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=00'");
}

TEST_CASE("date and scope") {
  auto req = list_functions();
  set_header(req, "X-Amz-Date", "2026-11-28T12:34:56Z");
  refused(req, "IncompleteSignatureException",
          "Date must be in ISO-8601 'basic format'. Got '2026-11-28T12:34:56Z'. See http://en.wikipedia.org/wiki/ISO_8601");

  req = list_functions();
  set_header(req, "Authorization",
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/lambda/aws4_request, "
             "SignedHeaders=host;x-amz-date, Signature=ccbd6c8392cf0ac050e052a4ebca8bbda9827bd6b4669e10480ca66b58bfbaf9");
  refused(req, "InvalidSignatureException",
          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261127' != "
          "'20261128', from '20261128T123456Z'.");

  set_header(req, "Authorization",
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/lambda, "
             "SignedHeaders=host;x-amz-date, Signature=ccbd6c8392cf0ac050e052a4ebca8bbda9827bd6b4669e10480ca66b58bfbaf9");
  refused(req, "IncompleteSignatureException",
          "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got "
          "'AKIDEXAMPLE/20261128/us-east-1/lambda'");

  set_header(req, "Authorization",
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/lambda/aws4_request, "
             "SignedHeaders=x-amz-date, Signature=ccbd6c8392cf0ac050e052a4ebca8bbda9827bd6b4669e10480ca66b58bfbaf9");
  refused(req, "InvalidSignatureException",
          "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_CASE("sign: what lambdad's own commands send is what botocore sends") {
  // The list_functions vector's request before botocore signed it.
  SignedRequest req{"GET",
                    "/2015-03-31/functions/?MaxItems=10&Marker=a%2Fb%20c%2Bd&FunctionVersion=ALL",
                    {{"Host", "lambda.us-east-1.amazonaws.com"}},
                    ""};
  sign(req, "AKIDEXAMPLE", keys.at("AKIDEXAMPLE"), "us-east-1", "lambda", signed_at + 400ms);
  auto signed_by_botocore = list_functions();
  CHECK(header(req, "Authorization") == header(signed_by_botocore, "Authorization"));
  CHECK_FALSE(check(req));

  // Every header present is signed, the body too.
  SignedRequest post{"POST", "/2015-03-31/functions/my-fn/invocations",
                     {{"Host", "127.0.0.1:9000"}, {"Content-Type", "application/json"}, {"X-Amz-Log-Type", "Tail"}},
                     R"({"a":1})"};
  sign(post, "AKIDOTHER", "other-secret", "eu-west-1", "lambda", signed_at);
  CHECK_FALSE(check(post));
  auto changed = post;
  changed.body = R"({"a":2})";
  refused(changed, "InvalidSignatureException", kMismatch);
  set_header(changed = post, "X-Amz-Log-Type", "None");
  refused(changed, "InvalidSignatureException", kMismatch);
  // Signing again replaces the old signature and date.
  sign(post, "AKIDOTHER", "other-secret", "eu-west-1", "lambda", signed_at + 1s);
  CHECK_FALSE(check(post));
  auto authorizations = std::count_if(post.headers.begin(), post.headers.end(),
                                      [](auto const& h) { return h.first == "Authorization"; });
  CHECK(authorizations == 1);
}
