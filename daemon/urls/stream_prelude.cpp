#include "stream_prelude.hpp"

#include <nlohmann/json.hpp>

namespace lambdad::urls {

namespace {

constexpr std::string_view kSeparator("\0\0\0\0\0\0\0\0", 8);

}  // namespace

HttpResponse head_of_prelude(std::string_view json_text) {
  HttpResponse head;
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return head;
  if (auto s = j.find("statusCode"); s != j.end() && s->is_number_integer()) head.status = s->get<unsigned>();
  if (auto h = j.find("headers"); h != j.end() && h->is_object())
    for (auto const& [name, value] : h->items())
      head.headers.push_back({name, value.is_string() ? value.get<std::string>() : value.dump()});
  if (auto c = j.find("cookies"); c != j.end() && c->is_array())
    for (auto const& cookie : *c)
      if (cookie.is_string()) head.headers.push_back({"Set-Cookie", cookie.get<std::string>()});
  return head;
}

std::optional<std::string> PreludeReader::feed(std::string_view bytes) {
  if (head_) return std::string(bytes);
  pending_.append(bytes);
  auto at = pending_.find(kSeparator);
  if (at == std::string::npos) {
    if (pending_.size() <= kMaxPrelude) return std::nullopt;
    head_ = HttpResponse{};
    return std::exchange(pending_, {});
  }
  head_ = head_of_prelude(std::string_view(pending_).substr(0, at));
  std::string rest = pending_.substr(at + kSeparator.size());
  pending_.clear();
  return rest;
}

std::string PreludeReader::end() {
  if (head_) return {};
  head_ = HttpResponse{};
  return std::exchange(pending_, {});
}

}  // namespace lambdad::urls
