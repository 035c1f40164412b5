#include "line_splitter.hpp"

namespace lambdad::logs {

void LineSplitter::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    // Fill the partial line up to the limit, emitting whole chunks of it.
    while (max_ > 0 && partial_.size() + piece.size() > max_) {
      std::size_t take = max_ - partial_.size();
      partial_.append(piece.substr(0, take));
      sink_(partial_);
      partial_.clear();
      piece.remove_prefix(take);
    }
    partial_.append(piece);
    if (nl == std::string_view::npos) return;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    sink_(partial_);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush() {
  if (partial_.empty()) return;
  sink_(partial_);
  partial_.clear();
}

}  // namespace lambdad::logs
