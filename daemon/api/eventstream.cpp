#include "eventstream.hpp"

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>

namespace lambdad::api::eventstream {

namespace {

constexpr std::size_t kPrelude = 12;  // total length, headers length, prelude CRC
constexpr std::size_t kTrailer = 4;   // message CRC
constexpr std::uint8_t kString = 7;

void put_u8(std::string& out, std::size_t v) { out.push_back(static_cast<char>(v & 0xFF)); }

void put_u16(std::string& out, std::size_t v) {
  put_u8(out, v >> 8);
  put_u8(out, v);
}

void put_u32(std::string& out, std::size_t v) {
  put_u16(out, v >> 16);
  put_u16(out, v);
}

std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::size_t headers_length(std::vector<std::pair<std::string, std::string>> const& headers) {
  std::size_t n = 0;
  for (auto const& [name, value] : headers) {
    if (name.empty() || name.size() > kMaxHeaderName)
      throw std::length_error("event stream header name of " + std::to_string(name.size()) +
                              " bytes (1 to " + std::to_string(kMaxHeaderName) + ")");
    if (value.size() > kMaxHeaderValue)
      throw std::length_error("event stream header " + name + ": value of " + std::to_string(value.size()) +
                              " bytes (at most " + std::to_string(kMaxHeaderValue) + ")");
    n += 1 + name.size() + 1 + 2 + value.size();
  }
  if (n > kMaxHeaders)
    throw std::length_error("event stream headers of " + std::to_string(n) + " bytes (at most " +
                            std::to_string(kMaxHeaders) + ")");
  return n;
}

std::string event(std::string_view event_type, std::string_view content_type, std::string_view payload) {
  return encode({{":event-type", std::string(event_type)},
                 {":content-type", std::string(content_type)},
                 {":message-type", "event"}},
                payload);
}

}  // namespace

std::string encode(std::vector<std::pair<std::string, std::string>> const& string_headers,
                   std::string_view payload) {
  std::size_t const h = headers_length(string_headers);
  if (payload.size() > kMaxMessage - kPrelude - kTrailer - h)
    throw std::length_error("event stream message of " +
                            std::to_string(kPrelude + h + payload.size() + kTrailer) + " bytes (at most " +
                            std::to_string(kMaxMessage) + ")");
  std::size_t const total = kPrelude + h + payload.size() + kTrailer;

  std::string out;
  out.reserve(total);
  put_u32(out, total);
  put_u32(out, h);
  put_u32(out, crc32(out));
  for (auto const& [name, value] : string_headers) {
    put_u8(out, name.size());
    out += name;
    put_u8(out, kString);
    put_u16(out, value.size());
    out += value;
  }
  out += payload;
  put_u32(out, crc32(out));
  return out;
}

std::string payload_chunk(std::string_view bytes) {
  return event("PayloadChunk", "application/octet-stream", bytes);
}

std::string invoke_complete(std::optional<std::string> error_code, std::optional<std::string> error_details,
                            std::optional<std::string> log_result) {
  auto body = nlohmann::json::object();
  if (error_code) body["ErrorCode"] = std::move(*error_code);
  if (error_details) body["ErrorDetails"] = std::move(*error_details);
  if (log_result) body["LogResult"] = std::move(*log_result);
  // Invalid UTF-8 (a runtime's error body may have any bytes) becomes U+FFFD.
  return event("InvokeComplete", "application/json",
               body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string exception(std::string_view type, std::string_view json_body) {
  return encode({{":exception-type", std::string(type)},
                 {":content-type", "application/json"},
                 {":message-type", "exception"}},
                json_body);
}

}  // namespace lambdad::api::eventstream
