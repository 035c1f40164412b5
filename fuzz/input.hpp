// Fuzz inputs cut into fields: each target reads what it needs (a method, a
// target, headers, a body) from one byte string, fields ending at a NUL, so
// that libFuzzer's mutations reach every field. The last field takes the
// rest, NULs and all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::fuzz {

class Fields {
 public:
  Fields(std::uint8_t const* data, std::size_t size) : rest_(reinterpret_cast<char const*>(data), size) {}
  std::string next() {
    auto nul = rest_.find('\0');
    std::string out(rest_.substr(0, nul));
    rest_ = nul == std::string_view::npos ? std::string_view{} : rest_.substr(nul + 1);
    return out;
  }
  // Up to `max` name/value pairs, ending early at a name "--".
  std::vector<std::pair<std::string, std::string>> headers(int max) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < max && !empty(); ++i) {
      auto name = next();
      if (name == "--") break;
      auto value = next();
      out.emplace_back(std::move(name), std::move(value));
    }
    return out;
  }
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// A crash the sanitizers do not see: a property the code must keep.
[[noreturn]] inline void violated(char const* what) {
  __builtin_printf("property violated: %s\n", what);
  __builtin_trap();
}

}  // namespace lambdad::fuzz
