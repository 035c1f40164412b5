// Beast reads a message body at most the buffer's free capacity at a time
// (down to 512 bytes): once the body it consumed is moved out, a small
// buffer stays small, and a 5 MB body arrives in ~8,000 reads of ~1.3 KB,
// each with its own epoll round trip. A declared large body (or a chunked
// one) gets room first: reads of up to `room` bytes.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace lambdad::util {

inline constexpr std::size_t kBodyRoom = std::size_t{1} << 20;

template <class Parser>
void make_body_room(boost::beast::flat_buffer& buffer, Parser const& parser, std::size_t room = kBodyRoom) {
  auto declared = parser.content_length();
  if ((declared && *declared > 65536) || parser.chunked()) buffer.reserve(buffer.size() + room);
}

}  // namespace lambdad::util
