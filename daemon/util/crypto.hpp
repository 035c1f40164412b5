// SHA-256, base64 and hex through OpenSSL's libcrypto. Pure functions, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambdad::util {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view data);
std::string to_hex(Sha256 const& digest);
// Inverse of to_hex for lower-case input; invalid digits decode as 0.
std::string from_hex(std::string_view hex);
std::string base64_encode(std::string_view data);
// Strict RFC 4648 decoding; std::nullopt on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace lambdad::util
