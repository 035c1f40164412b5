#include "stream_out.hpp"
#include "util/use_tuple.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace lambdad::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using util::use_tuple;

asio::awaitable<bool> StreamOut::start(bhttp::response_header<> head) {
  if (started_) co_return !failed_;
  started_ = true;
  bhttp::response<bhttp::empty_body> res{std::move(head)};
  res.version(version_);
  res.chunked(true);
  closes_ = !res.keep_alive();
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
  stream_.expires_never();
  failed_ = static_cast<bool>(ec);
  co_return !failed_;
}

asio::awaitable<bool> StreamOut::write(std::string_view data) {
  if (failed_ || finished_ || !started_) co_return false;
  if (data.empty()) co_return true;
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data.data(), data.size())), use_tuple);
  stream_.expires_never();
  failed_ = static_cast<bool>(ec);
  co_return !failed_;
}

asio::awaitable<bool> StreamOut::finish() {
  if (failed_ || finished_ || !started_) co_return false;
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), use_tuple);
  stream_.expires_never();
  failed_ = static_cast<bool>(ec);
  finished_ = !failed_;
  co_return finished_;
}

void StreamOut::abort() {
  boost::beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  failed_ = true;
}

}  // namespace lambdad::http
