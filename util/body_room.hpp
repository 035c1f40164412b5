// Beast reads a message body at most the buffer's free capacity at a time
// (at least 512 bytes, at most 64 KB: read_size(b, 65536) in its read op).
// The body it consumed moves out to the string, so a buffer that never
// grew stays small: a 5 MB body arrived in ~4,000 reads of ~1.3 KB, each
// with its own epoll round trip. A declared large body (or a chunked one)
// gets 64 KB of room first: reads of 64 KB, the most Beast asks for. A
// flat_buffer never shrinks, so the room stays with the connection; more
// would only be memory.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace lambdad::util {

inline constexpr std::size_t kBodyRoom = std::size_t{64} << 10;

template <class Parser>
void make_body_room(boost::beast::flat_buffer& buffer, Parser const& parser) {
  auto declared = parser.content_length();
  if ((declared && *declared > kBodyRoom) || parser.chunked()) buffer.reserve(buffer.size() + kBodyRoom);
}

}  // namespace lambdad::util
