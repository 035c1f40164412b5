#include "json_check.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace lambdad::util {

namespace {

// Past this a parser's buffers (about the document's size, twice) are not
// kept for the next payload: the daemon's memory stays flat.
constexpr std::size_t kKeepBuffersBelow = 1 << 20;

}  // namespace

bool is_json(std::string_view text) {
  thread_local simdjson::dom::parser kept;
  bool ok;
  if (text.size() < kKeepBuffersBelow) {
    ok = !kept.parse(text.data(), text.size(), true).error();
  } else {
    simdjson::dom::parser once;
    ok = !once.parse(text.data(), text.size(), true).error();
  }
  return ok || nlohmann::json::accept(text);
}

}  // namespace lambdad::util
