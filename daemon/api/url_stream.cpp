// A function URL in RESPONSE_STREAM mode: the head (the prelude's status,
// headers and cookies for an http-integration-response, else 200 and the
// runtime's Content-Type; CORS as configured) goes out when the runtime's
// first bytes arrive, then the body in chunks, byte for byte as written, at
// Lambda's streaming bandwidth. A function that does not stream answers as
// in BUFFERED mode, chunked. A failure before any byte is the 502 of
// BUFFERED mode; after bytes, the connection ends without the last chunk,
// so the client sees the body cut short. AWS documents followed:
// "Invoking Lambda function URLs" (response streaming), "Writing response
// streaming-enabled Lambda functions". On the io_context thread.
#include "control_plane.hpp"
#include "stream_rate.hpp"

#include "../urls/stream_prelude.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

class UrlStreamSink final : public runtime_api::ResponseSink {
 public:
  UrlStreamSink(http::StreamOut& out, UrlInvoke const& u, bool rate_limit) : out_(out), u_(u), rate_(rate_limit) {}

  void begin(std::string content_type, bool /*streamed*/) override {
    integration_ = content_type == urls::kHttpIntegrationResponse;
    content_type_ = std::move(content_type);
  }

  asio::awaitable<void> write(std::string_view bytes) override {
    if (closed) co_return;
    if (!integration_) {
      urls::HttpResponse head;
      head.headers.push_back({"Content-Type", content_type_});
      co_await start(std::move(head));
      co_await body(bytes);
      co_return;
    }
    auto rest = prelude_.feed(bytes);
    if (!rest) co_return;
    co_await start(prelude_.head());
    co_await body(*rest);
  }

  // The stream ended: a prelude still unfinished is sent as the body; a
  // stream without a byte still gets its head.
  asio::awaitable<void> end() {
    if (integration_ && !prelude_.done()) {
      auto rest = prelude_.end();
      co_await start(prelude_.head());
      co_await body(rest);
    } else if (!integration_) {
      urls::HttpResponse head;
      head.headers.push_back({"Content-Type", content_type_.empty() ? "application/octet-stream" : content_type_});
      co_await start(std::move(head));
    }
  }

  asio::awaitable<void> start(urls::HttpResponse head) {
    if (out_.started()) co_return;
    if (u_.cors) urls::apply_cors(*u_.cors, u_.request, head);
    bhttp::response_header<> h;
    h.result(head.status);
    for (auto const& f : head.headers) h.insert(f.name, f.value);
    h.set("x-amzn-RequestId", u_.request_id);
    h.set("X-Amzn-Trace-Id", urls::trace_id(u_.request_id, u_.time));
    co_await out_.start(std::move(h));
  }

  asio::awaitable<void> body(std::string_view bytes) {
    if (bytes.empty()) co_return;
    co_await rate_.pace(bytes.size());
    co_await out_.write(bytes);
  }

  bool closed = false;

 private:
  http::StreamOut& out_;
  UrlInvoke const& u_;
  StreamRate rate_;
  bool integration_ = false;
  std::string content_type_;
  urls::PreludeReader prelude_;
};

}  // namespace

asio::awaitable<Response> ControlPlane::stream_url(UrlInvoke u, http::StreamOut& out) {
  auto sink = std::make_shared<UrlStreamSink>(out, u, cfg_.stream_rate_limit);
  u.invoke.sink = sink;
  u.invoke.request_id = u.request_id;
  auto result = co_await invoker_->invoke(u.fn, u.invoke);
  sink->closed = true;
  bool failed = result.function_error || result.refused || result.throttled;
  if (out.started() && (failed || !result.streamed)) {
    // A failure after the head went out (an error in the stream, a timeout,
    // a crash): the body is cut short, as the client must see it.
    out.abort();
    spdlog::info("URL {} -> streamed, then failed ({})", u.request.method, result.outcome);
    co_return Response{};
  }
  if (result.streamed && !failed) {
    co_await sink->end();
    co_await out.finish();
    spdlog::info("URL {} -> streamed", u.request.method);
    co_return Response{};
  }
  urls::HttpResponse buffered = buffered_url_response(result);
  // Not streamed (or failed before a byte): the buffered answer, chunked.
  std::string body = std::move(buffered.body);
  co_await sink->start(std::move(buffered));
  co_await sink->body(body);
  co_await out.finish();
  co_return Response{};
}

}  // namespace lambdad::api
