#include "json_check.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace lambdad::util {

namespace {

// simdjson's DOM parser allocates about 15 bytes per byte of the document
// (its tape, strings, structural indexes and a padded copy): past this size
// the parser is not kept for the next payload, so a thread keeps at most
// about 4 MB and the daemon's memory stays flat after a large one.
constexpr std::size_t kKeepBuffersBelow = 256 << 10;

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
