// A response whose body is not whole when its head goes out: the head with
// Transfer-Encoding: chunked, then each piece as one chunk as it comes,
// then the last chunk (Beast's chunk encoding). The one writer for every
// body of that kind: a streamed invoke, a function URL in RESPONSE_STREAM
// mode, a followed log. A handler that starts one has answered: the
// server writes nothing more for that request, and keeps the connection
// only if the stream was finished and the request allows it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>

#include <chrono>
#include <string_view>

namespace lambdad::http {

class StreamOut {
 public:
  // A client that takes no byte of a write for `write_timeout` is dropped.
  StreamOut(boost::beast::tcp_stream& stream, unsigned version, std::chrono::seconds write_timeout)
      : stream_(stream), version_(version), write_timeout_(write_timeout) {}
  StreamOut(StreamOut const&) = delete;
  StreamOut& operator=(StreamOut const&) = delete;

  unsigned version() const { return version_; }
  // Writes `head` (its status and fields) as a chunked response. False
  // when the client is gone; every later call is then a no-op.
  boost::asio::awaitable<bool> start(boost::beast::http::response_header<> head);
  // One chunk (nothing for an empty piece).
  boost::asio::awaitable<bool> write(std::string_view data);
  // The last chunk: the response is complete.
  boost::asio::awaitable<bool> finish();
  // Ends the connection without the last chunk: the client sees the body
  // cut short (a failure after the head went out).
  void abort();

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  bool failed() const { return failed_; }
  // The head said Connection: close.
  bool closes() const { return closes_; }
  // The connection, for a writer that also watches the client hang up.
  boost::beast::tcp_stream& stream() { return stream_; }

 private:
  boost::beast::tcp_stream& stream_;
  unsigned version_;
  std::chrono::seconds write_timeout_;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool closes_ = false;
};

}  // namespace lambdad::http
