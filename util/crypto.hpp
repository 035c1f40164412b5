// SHA-256, HMAC-SHA256, base64 and hex through OpenSSL's libcrypto. Pure functions, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambdad::util {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view data);
Sha256 hmac_sha256(std::string_view key, std::string_view data);
// A digest as the bytes it is (a key for the next HMAC of a chain).
inline std::string_view bytes(Sha256 const& digest) {
  return {reinterpret_cast<char const*>(digest.data()), digest.size()};
}
std::string to_hex(Sha256 const& digest);
// Inverse of to_hex for lower-case input; invalid digits decode as 0.
std::string from_hex(std::string_view hex);
std::string base64_encode(std::string_view data);
// Strict RFC 4648 decoding; std::nullopt on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace lambdad::util
