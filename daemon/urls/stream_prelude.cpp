#include "stream_prelude.hpp"

#include <nlohmann/json.hpp>

namespace lambdad::urls {

namespace {

constexpr std::string_view kSeparator("\0\0\0\0\0\0\0\0", 8);

}  // namespace

HttpResponse head_of_prelude(std::string_view json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return HttpResponse{};
  auto head = response_head(j);
  head.body.clear();  // a bad status's 502 keeps only its head: the stream is the body
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
