// The Runtime and Extensions APIs' own parsing: any method and request
// target routes somewhere (Unknown included), a request id taken from a
// target is a part of it, /register bodies and error types of any bytes.
#include "input.hpp"
#include "protocol.hpp"

using namespace lambdad;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  fuzz::Fields f(data, size);
  auto method = f.next();
  auto target = f.next();
  auto t = runtime_api::parse_target(method, target);
  if (!t.request_id.empty() && target.find(t.request_id) == std::string::npos)
    fuzz::violated("a request id that is not in the target");
  auto header = f.next();
  std::string body(f.rest());
  (void)runtime_api::parse_register(body);
  auto type = runtime_api::error_type_of(header.empty() ? std::nullopt : std::optional<std::string_view>(header), body);
  if (type.empty()) fuzz::violated("an empty error type");
  return 0;
}
