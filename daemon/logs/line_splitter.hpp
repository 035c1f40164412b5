// Turns the byte stream a runtime writes to stdout/stderr into lines, as
// Lambda does: one log event per line; a line longer than `max_line` is cut
// into several events; a last line without a newline is flushed when the
// stream ends. Pure; the owner of the pipe feeds it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace lambdad::logs {

class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineSplitter(Sink sink, std::size_t max_line = 256 * 1024) : sink_(std::move(sink)), max_(max_line) {}

  void feed(std::string_view bytes);
  // End of stream: emits what is left as a last line.
  void flush();

 private:
  Sink sink_;
  std::size_t max_;
  std::string partial_;
};

}  // namespace lambdad::logs
