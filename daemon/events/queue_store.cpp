#include "queue_store.hpp"

#include "util/fsutil.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace lambdad::events {

namespace {

using nlohmann::json;

json to_json(QueuedEvent const& e) {
  json j{{"request_id", e.request_id}, {"function", e.function},   {"qualifier", e.qualifier},
         {"payload", e.payload},       {"attempts", e.attempts},   {"accepted_ms", e.accepted_ms},
         {"due_ms", e.due_ms}};
  if (e.client_context) j["client_context"] = *e.client_context;
  return j;
}

std::optional<QueuedEvent> from_json(std::string const& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    QueuedEvent e;
    j.at("request_id").get_to(e.request_id);
    j.at("function").get_to(e.function);
    j.at("qualifier").get_to(e.qualifier);
    j.at("payload").get_to(e.payload);
    j.at("attempts").get_to(e.attempts);
    j.at("accepted_ms").get_to(e.accepted_ms);
    j.at("due_ms").get_to(e.due_ms);
    if (j.contains("client_context")) e.client_context = j.at("client_context").get<std::string>();
    return e;
  } catch (json::exception const&) {
    return std::nullopt;
  }
}

}  // namespace

bool valid_request_id(std::string const& id) {
  return id.size() == 36 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::isxdigit(c) || c == '-';
         });
}

fs::path QueueStore::path_of(std::string const& request_id) const { return dir_ / (request_id + ".json"); }

Result<void> QueueStore::put(QueuedEvent const& e) {
  if (!valid_request_id(e.request_id)) return plain_error("not a request id: `" + e.request_id + "`");
  if (auto r = util::make_dirs(dir_); !r) return r;
  return util::write_file_atomic(path_of(e.request_id), to_json(e).dump(), tmp_);
}

Result<void> QueueStore::remove(std::string const& request_id) {
  if (!valid_request_id(request_id)) return plain_error("not a request id: `" + request_id + "`");
  return util::remove_file_durable(path_of(request_id));
}

Result<std::vector<QueuedEvent>> QueueStore::load(std::vector<std::string>& notes) {
  std::vector<QueuedEvent> out;
  if (auto r = util::make_dirs(dir_); !r) return r.error();
  std::error_code ec;
  for (auto const& entry : fs::directory_iterator(dir_, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    auto text = util::read_file(entry.path());
    auto e = text ? from_json(*text) : std::nullopt;
    if (e && valid_request_id(e->request_id) && entry.path().stem() == e->request_id) {
      out.push_back(std::move(*e));
      continue;
    }
    auto aside = dir_ / "unreadable";
    (void)util::make_dirs(aside);
    fs::rename(entry.path(), aside / entry.path().filename(), ec);
    notes.push_back("event queue: " + entry.path().filename().string() + " could not be read; moved to " +
                    aside.string());
  }
  std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.accepted_ms < b.accepted_ms; });
  return out;
}

}  // namespace lambdad::events
