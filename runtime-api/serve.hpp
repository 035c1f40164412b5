// Endpoint::serve and the streamed /response reader, for any Beast stream:
// a TCP connection (endpoint.cpp) or beast::test::stream (the unit tests of
// the routes, without sockets). Internal to runtime-api and its tests.
#pragma once

#include "endpoint.hpp"
#include "replies.hpp"

#include "util/body_room.hpp"
#include "util/crypto.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <vector>

namespace lambdad::runtime_api {

namespace detail {
// The most of a streamed answer read at once: a read returns what has
// arrived, so this bounds large writes (fewer, larger frames downstream)
// without holding small ones back.
inline constexpr std::size_t kStreamPiece = 1 << 20;
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
}  // namespace detail

template <class Stream>
boost::asio::awaitable<void> Endpoint::serve(Stream& stream) {
  namespace bhttp = boost::beast::http;
  using detail::use_tuple;
  boost::beast::flat_buffer buffer;
  // An extension that got its SHUTDOWN on this connection and then hangs up is done.
  std::optional<std::string> delivered_shutdown_to;
  for (;;) {
    // The head first: a streamed /response is read as it comes, the rest whole.
    HeadParser head;
    head.body_limit(boost::none);
    [[maybe_unused]] auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, head, use_tuple);
    if (hec) break;
    auto target = parse_target(head.get().method_string(), head.get().target());
    bool keep_alive = head.get().keep_alive();
    std::optional<Reply> reply;
    if (target.route == Route::Response && detail::is_streamed(head.get())) {
      reply = co_await streamed_answer(stream, buffer, head, target);
    } else {
      bhttp::request_parser<bhttp::string_body> parser(std::move(head));
      // A body over the limit is still read (to answer 413 on a live connection).
      parser.body_limit(kMaxResponseBytes * 2);
      util::make_body_room(buffer, parser);  // a 5 MB answer in ~80 reads, not ~4,000
      [[maybe_unused]] auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      if (rec) break;
      auto req = parser.release();
      keep_alive = req.keep_alive();
      reply = co_await dispatch(req, target, delivered_shutdown_to);
    }
    if (!reply) break;
    reply->keep_alive(keep_alive);
    reply->prepare_payload();
    [[maybe_unused]] auto [wec, wn] = co_await bhttp::async_write(stream, *reply, use_tuple);
    if (wec || !reply->keep_alive()) break;
  }
  if (delivered_shutdown_to) {
    if (auto it = extensions_.find(*delivered_shutdown_to); it != extensions_.end()) it->second.gone = true;
    notify(settle_waiters_);
  }
}

// A streamed /response (chunked, with the error trailers): each piece goes
// to the invocation's sink as it arrives, or is kept (up to the buffered
// limit) when the caller takes no stream. An error after the first bytes
// comes in the trailers: Lambda-Runtime-Function-Error-Type and
// Lambda-Runtime-Function-Error-Body (base64 of the error object).
template <class Stream>
boost::asio::awaitable<std::optional<Endpoint::Reply>> Endpoint::streamed_answer(Stream& stream,
                                                                                boost::beast::flat_buffer& buffer,
                                                                                HeadParser& head,
                                                                                Target const& target) {
  namespace bhttp = boost::beast::http;
  using namespace detail;
  using detail::use_tuple;
  unsigned v = head.get().version();
  auto refusal = answer_refusal(target.request_id);
  auto content_type = header(head.get(), "Content-Type").value_or("application/octet-stream");
  bhttp::request_parser<bhttp::buffer_body> parser(std::move(head));
  parser.body_limit(boost::none);
  auto sink = refusal ? nullptr : sink_;
  std::size_t limit = sink ? kMaxStreamedBytes : kMaxResponseBytes;
  // While this answer streams, no other answer for it is taken.
  struct Streaming {
    std::optional<std::string>& slot;
    bool mine;
    ~Streaming() {
      if (mine) slot.reset();
    }
  } streaming{streaming_, !refusal};
  if (!refusal) streaming_ = target.request_id;
  bool keeping = !refusal && !sink;  // a caller that takes no stream gets it whole
  if (sink) sink->begin(std::string(content_type), true);
  std::string kept;
  std::size_t total = 0;
  // Beast reads at most the buffer's free room at a time: give it room, or
  // a large write arrives as thousands of small pieces (and frames).
  buffer.reserve(buffer.size() + kStreamPiece);
  std::vector<char> piece(kStreamPiece);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, parser, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return std::nullopt;  // hung up mid-answer: the invocation ends as the runtime does
    std::size_t got = piece.size() - parser.get().body().size;
    std::size_t room = total < limit ? limit - total : 0;
    total += got;
    if (refusal || got == 0 || room == 0) continue;  // past the limit: read, dropped
    std::string_view bytes(piece.data(), std::min(got, room));
    if (sink && sink_ != sink) sink = nullptr;  // the invocation ended (timed out): the rest is dropped
    if (sink) {
      sink_writing_ = true;
      try {
        co_await sink->write(bytes);
      } catch (std::exception const&) {
        sink = nullptr;  // the caller's side failed: the rest is read and dropped
      }
      sink_writing_ = false;
      notify(sink_waiters_);
    } else if (keeping) {
      kept.append(bytes);
    }
  }
  if (refusal) co_return error_reply(*refusal, v);
  if (!in_flight_ || *in_flight_ != target.request_id) co_return error_reply(invalid_request_id(target.request_id), v);
  remember_answered(std::move(*in_flight_));
  in_flight_.reset();
  auto const& msg = parser.get();
  if (total > limit) {
    finish(Outcome{Outcome::Kind::TooLarge, {}, "Function.ResponseSizeTooLarge", total, true, {}, {}, limit});
    co_return error_reply(payload_too_large(total, limit), v);
  }
  if (auto type = header(msg, "Lambda-Runtime-Function-Error-Type"); type && !type->empty()) {
    std::string body = util::base64_decode(header(msg, "Lambda-Runtime-Function-Error-Body").value_or(""))
                           .value_or(std::string());
    finish(Outcome{Outcome::Kind::FunctionError, std::move(body), std::string(*type), total, true, {}, {}});
  } else {
    finish(Outcome{Outcome::Kind::Response, std::move(kept), {}, total, true, {}, {}});
  }
  co_return make_reply(202, R"({"status":"OK"})", v);
}

}  // namespace lambdad::runtime_api
