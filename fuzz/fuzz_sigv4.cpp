// The SigV4 verifier on hostile requests: any method, target, headers and
// body must get an answer (accepted or a Failure), never a crash; and a
// request built from the same bytes and signed with the daemon's key must
// verify (sign and verify agree on every canonical form).
#include "auth/sigv4.hpp"
#include "input.hpp"

#include <chrono>
#include <map>

using namespace lambdad;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  fuzz::Fields f(data, size);
  auth::SignedRequest req;
  req.method = f.next();
  req.target = f.next();
  req.headers = f.headers(8);
  std::string body(f.rest());
  req.body = body;
  std::map<std::string, std::string> const keys = {{"test", "test"}};
  auto const now = std::chrono::system_clock::time_point(std::chrono::seconds(1796284800));
  (void)auth::verify(req, keys, now);

  // The round trip: a well-formed target (as a client would send it) signed
  // by sign() is accepted by verify().
  if (req.method.empty() || req.target.empty() || req.target[0] != '/') return 0;
  for (char c : req.method)
    if (c < 'A' || c > 'Z') return 0;
  // A request-target is visible ASCII without a fragment (RFC 9112 3.2).
  for (char c : req.target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '#') return 0;
  auth::SignedRequest signed_req;
  signed_req.method = req.method;
  signed_req.target = req.target;
  signed_req.headers = {{"Host", "127.0.0.1:9000"}};
  signed_req.body = body;
  auth::sign(signed_req, "test", "test", "us-east-1", "lambda", now);
  if (auto failure = auth::verify(signed_req, keys, now)) {
    __builtin_printf("%s %s: %u %s %s\n", req.method.c_str(), req.target.c_str(), failure->status,
                     failure->type.c_str(), failure->message.c_str());
    fuzz::violated("a request signed by sign() fails verify()");
  }
  return 0;
}
