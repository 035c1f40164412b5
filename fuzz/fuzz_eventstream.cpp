// The event-stream encoder, round trip: headers and a payload cut from the
// input are encoded, then decoded here by the format's rules (the prelude,
// both CRC32s, type-7 string headers), and must come back as they went in.
// Inputs past the format's limits must be refused with std::length_error.
#include "api/eventstream.hpp"
#include "input.hpp"

#include <boost/crc.hpp>

#include <stdexcept>

using namespace lambdad;
namespace es = lambdad::api::eventstream;

namespace {

std::uint32_t be32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::uint32_t crc(std::string_view s) {
  boost::crc_32_type c;
  c.process_bytes(s.data(), s.size());
  return c.checksum();
}

using StringHeaders = std::vector<std::pair<std::string, std::string>>;

void decode(std::string_view m, StringHeaders const& want_headers, std::string_view want_payload) {
  if (m.size() < 16 || be32(m, 0) != m.size()) fuzz::violated("total length");
  std::uint32_t hlen = be32(m, 4);
  if (be32(m, 8) != crc(m.substr(0, 8))) fuzz::violated("prelude CRC");
  if (be32(m, m.size() - 4) != crc(m.substr(0, m.size() - 4))) fuzz::violated("message CRC");
  if (12 + static_cast<std::size_t>(hlen) + 4 > m.size()) fuzz::violated("headers length");
  std::string_view h = m.substr(12, hlen);
  StringHeaders got;
  while (!h.empty()) {
    std::size_t n = static_cast<unsigned char>(h[0]);
    if (h.size() < 1 + n + 3 || h[1 + n] != 7) fuzz::violated("a header");
    std::string name(h.substr(1, n));
    std::size_t vlen = static_cast<unsigned char>(h[2 + n]) << 8 | static_cast<unsigned char>(h[3 + n]);
    if (h.size() < 4 + n + vlen) fuzz::violated("a header value");
    got.emplace_back(std::move(name), std::string(h.substr(4 + n, vlen)));
    h.remove_prefix(4 + n + vlen);
  }
  if (got != want_headers) fuzz::violated("headers differ after the round trip");
  if (m.substr(12 + hlen, m.size() - 16 - hlen) != want_payload) fuzz::violated("payload differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  fuzz::Fields f(data, size);
  StringHeaders headers;
  for (int i = 0; i < 6 && !f.empty(); ++i) {
    auto name = f.next();
    if (name.empty()) break;  // an empty name ends the headers (the encoder refuses one)
    headers.emplace_back(std::move(name), f.next());
  }
  std::string payload(f.rest());
  std::string message;
  try {
    message = es::encode(headers, payload);
  } catch (std::length_error const&) {
    for (auto const& [name, value] : headers)
      if (name.size() > es::kMaxHeaderName || value.size() > es::kMaxHeaderValue) return 0;
    fuzz::violated("a message within the limits refused");
  }
  decode(message, headers, payload);
  decode(es::payload_chunk(payload), {{":event-type", "PayloadChunk"}, {":content-type", "application/octet-stream"},
                                      {":message-type", "event"}}, payload);
  return 0;
}
