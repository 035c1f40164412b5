// The event stream encoder (application/vnd.amazon.eventstream), checked
// byte for byte. Expected bytes are written out by hand or rebuilt here with
// a CRC32 of the test's own (bitwise, no table, no Boost), so a mistake in
// the encoder's CRC or layout cannot cancel out. botocore's own parser reads
// the same frames in test_eventstream_botocore.py.
#include <doctest/doctest.h>

#include "api/eventstream.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace es = lambdad::api::eventstream;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

// zlib's CRC32, one bit at a time: reflected polynomial 0xEDB88320.
std::uint32_t bitwise_crc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1u) ? 0xEDB88320u : 0u);
  }
  return ~crc;
}

std::uint32_t be32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s.at(at + i))); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string be32_bytes(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string bytes_of(std::vector<int> const& v) {
  std::string out;
  for (int b : v) out.push_back(static_cast<char>(b));
  return out;
}

struct Message {
  Headers headers;
  std::string payload;
};

// A decoder of the test's own: checks both lengths and both CRCs, and that
// every header is a string (type 7).
Message decode(std::string const& m) {
  REQUIRE(m.size() >= 16);
  auto const total = be32(m, 0);
  auto const hlen = be32(m, 4);
  REQUIRE(total == m.size());
  REQUIRE(hlen <= total - 16);
  CHECK(be32(m, 8) == bitwise_crc32(std::string_view(m).substr(0, 8)));
  CHECK(be32(m, total - 4) == bitwise_crc32(std::string_view(m).substr(0, total - 4)));
  Message out;
  std::size_t at = 12;
  std::size_t const end = 12 + hlen;
  while (at < end) {
    std::size_t const nlen = static_cast<unsigned char>(m.at(at));
    std::string name = m.substr(at + 1, nlen);
    at += 1 + nlen;
    REQUIRE(static_cast<unsigned char>(m.at(at)) == 7);
    std::size_t const vlen = static_cast<std::size_t>(static_cast<unsigned char>(m.at(at + 1))) << 8 |
                             static_cast<unsigned char>(m.at(at + 2));
    at += 3;
    REQUIRE(at + vlen <= end);
    out.headers.emplace_back(std::move(name), m.substr(at, vlen));
    at += vlen;
  }
  REQUIRE(at == end);
  out.payload = m.substr(end, total - 4 - end);
  return out;
}

}  // namespace

TEST_CASE("the test's CRC32 is zlib's: the standard check value") {
  CHECK(bitwise_crc32("123456789") == 0xCBF43926u);
  CHECK(bitwise_crc32("") == 0u);
}

TEST_CASE("a small frame, byte for byte") {
  // total 24 = 12 prelude + 6 headers (01 'a' 07 0001 'b') + 2 payload + 4 CRC
  auto const expected = bytes_of({0x00, 0x00, 0x00, 0x18,  // total length
                                  0x00, 0x00, 0x00, 0x06,  // headers length
                                  0xdc, 0xd1, 0xa6, 0x1f,  // CRC32 of the 8 bytes above
                                  0x01, 'a', 0x07, 0x00, 0x01, 'b',
                                  'h', 'i',
                                  0x88, 0xe2, 0x1d, 0x9c});  // CRC32 of the 20 bytes above
  auto const frame = es::encode({{"a", "b"}}, "hi");
  CHECK(frame == expected);
  CHECK(bitwise_crc32(expected.substr(0, 8)) == 0xdcd1a61fu);
  CHECK(bitwise_crc32(expected.substr(0, 20)) == 0x88e21d9cu);
}

TEST_CASE("no headers, empty payload: the 16-byte minimum") {
  auto const frame = es::encode({}, "");
  std::string expected = be32_bytes(16) + be32_bytes(0);
  expected += be32_bytes(bitwise_crc32(expected));
  expected += be32_bytes(bitwise_crc32(expected));
  CHECK(frame == expected);
  auto const m = decode(frame);
  CHECK(m.headers.empty());
  CHECK(m.payload.empty());
}

TEST_CASE("headers are written in the order given, with the payload after them") {
  Headers const headers{{"z", "1"}, {"a", "2"}, {":x", ""}};
  auto const frame = es::encode(headers, "body");
  // 6 + 6 + 6 header bytes: length, name, type 7, u16 length, value.
  std::string expected = be32_bytes(16 + 18 + 4) + be32_bytes(18);
  expected += be32_bytes(bitwise_crc32(expected));
  expected += bytes_of({1, 'z', 7, 0, 1, '1', 1, 'a', 7, 0, 1, '2', 2, ':', 'x', 7, 0, 0});
  expected += "body";
  expected += be32_bytes(bitwise_crc32(expected));
  CHECK(frame == expected);
  auto const m = decode(frame);
  CHECK(m.headers == headers);
  CHECK(m.payload == "body");
}

TEST_CASE("a payload with NUL and 0xFF bytes, and every other byte value, passes untouched") {
  std::string payload("\0\xff\0\xff\0", 5);
  auto m = decode(es::encode({}, payload));
  CHECK(m.payload.size() == 5);
  CHECK(m.payload == payload);

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += all;
  m = decode(es::payload_chunk(all));
  CHECK(m.payload == all);

  // The lengths and CRCs of a NUL-only payload are still big-endian and zlib's.
  auto const frame = es::encode({}, std::string(3, '\0'));
  std::string expected = be32_bytes(19) + be32_bytes(0);
  expected += be32_bytes(bitwise_crc32(expected));
  expected += std::string(3, '\0');
  expected += be32_bytes(bitwise_crc32(expected));
  CHECK(frame == expected);
}

TEST_CASE("UTF-8 header values: lengths count bytes, the bytes pass as they are") {
  std::string const value = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80";  // "héllo ✓ 😀": 15 bytes
  REQUIRE(value.size() == 15);
  auto const frame = es::encode({{"n", value}, {"\xc3\xa9", "x"}}, "");
  std::string expected = be32_bytes(16 + (1 + 1 + 1 + 2 + 15) + (1 + 2 + 1 + 2 + 1)) + be32_bytes(27);
  expected += be32_bytes(bitwise_crc32(expected));
  expected += bytes_of({1, 'n', 7, 0, 15}) + value;
  expected += bytes_of({2, 0xc3, 0xa9, 7, 0, 1, 'x'});
  expected += be32_bytes(bitwise_crc32(expected));
  CHECK(frame == expected);
  auto const m = decode(frame);
  REQUIRE(m.headers.size() == 2);
  CHECK(m.headers[0].second == value);
  CHECK(m.headers[1].first == "\xc3\xa9");
}

TEST_CASE("a value's u16 length is big-endian above 255") {
  std::string const value(0x1234, 'v');
  auto const frame = es::encode({{"k", value}}, "");
  CHECK(static_cast<unsigned char>(frame.at(12 + 3)) == 0x12);
  CHECK(static_cast<unsigned char>(frame.at(12 + 4)) == 0x34);
  CHECK(decode(frame).headers.at(0).second == value);
}

TEST_CASE("PayloadChunk: Lambda's three headers and the bytes as the payload") {
  std::string const bytes("chunk\0\x01", 7);
  auto const m = decode(es::payload_chunk(bytes));
  CHECK(m.headers == Headers{{":event-type", "PayloadChunk"},
                             {":content-type", "application/octet-stream"},
                             {":message-type", "event"}});
  CHECK(m.payload == bytes);

  // An empty chunk: 16 + 90 header bytes (27 + 41 + 22).
  auto const empty = es::payload_chunk("");
  CHECK(empty.substr(0, 12) == bytes_of({0x00, 0x00, 0x00, 0x6a, 0x00, 0x00, 0x00, 0x5a, 0x3d, 0x1e, 0x08, 0x6f}));
  CHECK(empty.substr(empty.size() - 4) == bytes_of({0x60, 0xb0, 0xca, 0x74}));
}

TEST_CASE("InvokeComplete: JSON payload with only the members given") {
  SUBCASE("a clean end is {}") {
    auto const frame = es::invoke_complete(std::nullopt, std::nullopt, std::nullopt);
    auto const m = decode(frame);
    CHECK(m.headers == Headers{{":event-type", "InvokeComplete"},
                               {":content-type", "application/json"},
                               {":message-type", "event"}});
    CHECK(m.payload == "{}");
    // 16 + 84 header bytes (29 + 33 + 22) + 2.
    CHECK(frame.size() == 102);
    CHECK(frame.substr(0, 12) == bytes_of({0x00, 0x00, 0x00, 0x66, 0x00, 0x00, 0x00, 0x54, 0x1f, 0x56, 0xc8, 0x69}));
    CHECK(frame.substr(98) == bytes_of({0x70, 0x06, 0xd4, 0x67}));
  }
  SUBCASE("all three") {
    auto const m = decode(es::invoke_complete("Unhandled", "{\"errorMessage\":\"boom \\u00e9\"}", "U1RBUlQ="));
    auto const j = nlohmann::json::parse(m.payload);
    CHECK(j == nlohmann::json{{"ErrorCode", "Unhandled"},
                              {"ErrorDetails", "{\"errorMessage\":\"boom \\u00e9\"}"},
                              {"LogResult", "U1RBUlQ="}});
  }
  SUBCASE("only LogResult") {
    auto const m = decode(es::invoke_complete(std::nullopt, std::nullopt, "TG9n"));
    CHECK(m.payload == R"({"LogResult":"TG9n"})");
  }
  SUBCASE("an error without a log") {
    auto const m = decode(es::invoke_complete("Unhandled", "details", std::nullopt));
    CHECK(m.payload == R"({"ErrorCode":"Unhandled","ErrorDetails":"details"})");
  }
  SUBCASE("bytes that are not UTF-8 become U+FFFD instead of throwing") {
    auto const m = decode(es::invoke_complete("E", std::string("bad \xff end"), std::nullopt));
    CHECK(nlohmann::json::parse(m.payload).at("ErrorDetails") == "bad \xef\xbf\xbd end");
  }
}

TEST_CASE("exception: :message-type exception with its :exception-type, the JSON as given") {
  auto const m = decode(es::exception("ServiceException", R"({"message":"x"})"));
  CHECK(m.headers == Headers{{":exception-type", "ServiceException"},
                             {":content-type", "application/json"},
                             {":message-type", "exception"}});
  CHECK(m.payload == R"({"message":"x"})");
}

TEST_CASE("limits: what a decoder would refuse is refused here") {
  static_assert(es::kMaxChunk + 16 + 90 <= es::kMaxMessage, "a full PayloadChunk fits in a message");
  CHECK_THROWS_AS(es::encode({{"", "v"}}, ""), std::length_error);
  CHECK_NOTHROW(es::encode({{std::string(127, 'n'), "v"}}, ""));
  CHECK_THROWS_AS(es::encode({{std::string(128, 'n'), "v"}}, ""), std::length_error);
  CHECK_NOTHROW(es::encode({{"k", std::string(65535, 'v')}}, ""));
  CHECK_THROWS_AS(es::encode({{"k", std::string(65536, 'v')}}, ""), std::length_error);
  // Two values of 65535 bytes: 131082 header bytes, over 128 KiB.
  CHECK_THROWS_AS(es::encode({{"a", std::string(65535, 'v')}, {"b", std::string(65535, 'v')}}, ""),
                  std::length_error);

  CHECK(decode(es::payload_chunk(std::string(es::kMaxChunk, '\xff'))).payload.size() == es::kMaxChunk);
  std::string big(es::kMaxMessage - 16, 'p');
  CHECK(es::encode({}, big).size() == es::kMaxMessage);
  big.push_back('p');
  CHECK_THROWS_AS(es::encode({}, big), std::length_error);
  CHECK_THROWS_AS(es::payload_chunk(std::string(es::kMaxMessage - 16 - 90 + 1, 'p')), std::length_error);
}
