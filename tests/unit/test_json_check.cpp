// util::is_json against nlohmann::json::accept, the checker it replaced on
// the invoke path: the same answer for hand-picked texts (each case where
// simdjson alone refuses what JSON allows) and for random ones.
#include "util/json_check.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

using lambdad::util::is_json;

TEST_CASE("valid texts, including what simdjson alone refuses") {
  for (std::string s : {"{}", "[]", "0", "-0", "1.5e-3", "\"x\"", "true", "null", " {\"a\" : [1, 2, {\"b\": null}]} ",
                        "\"\\ud800\\udc00\"", "\"caf\xc3\xa9\"",
                        "123456789012345678901234567890",  // beyond 64 bits
                        "\xEF\xBB\xBF{}"}) {                // a UTF-8 byte order mark
    CAPTURE(s);
    CHECK(is_json(s));
  }
  std::string deep(3000, '[');  // past simdjson's 1024 levels
  deep += std::string(3000, ']');
  CHECK(is_json(deep));
}

TEST_CASE("invalid texts") {
  for (std::string s : {"", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "tru", "nul", "{}{}", "1 2",
                        "\"\\x\"", "\"\\udc00\"", "\"\\ud800\"", "\"\x01\"", "\"\xff\"", "\"\xc0\x80\"",
                        "\"\xed\xa0\x80\"", "'a'", "{a:1}", "[1] x"}) {
    CAPTURE(s);
    CHECK_FALSE(is_json(s));
  }
}

TEST_CASE("a 5 MB payload, and the buffers it needed are not kept") {
  std::string big = "{\"pad\":\"" + std::string(5 << 20, 'x') + "\"}";
  CHECK(is_json(big));
  big.back() = ',';
  CHECK_FALSE(is_json(big));
  CHECK(is_json("{\"small\":1}"));
}

TEST_CASE("random texts of JSON's pieces: the same answer as nlohmann::json::accept") {
  std::vector<std::string> const pieces = {"{", "}", "[", "]", ",", ":", "\"a\"", "\"", "1", "-", "0", "e", "E", "+",
                                           ".", "true", "null", " ", "\\", "u", "d800", "\"\\u", "\xc3\xa9", "\xff",
                                           "x", "\n"};
  std::mt19937 rng(20261202);
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    for (int k = static_cast<int>(rng() % 12); k > 0; --k) s += pieces[rng() % pieces.size()];
    bool expected = nlohmann::json::accept(s);
    valid += expected;
    if (is_json(s) != expected) {
      CAPTURE(s);
      FAIL("is_json differs from nlohmann::json::accept");
    }
  }
  MESSAGE(valid << " of 200000 random texts were JSON");
  CHECK(valid > 1000);  // the generator makes enough valid ones to compare
}
