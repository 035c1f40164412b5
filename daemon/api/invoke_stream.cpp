// InvokeWithResponseStream: POST /2021-11-15/functions/{name}/response-
// streaming-invocations. The answer is an event stream
// (application/vnd.amazon.eventstream): a PayloadChunk event for each piece
// the runtime writes, as it writes it, then one InvokeComplete (ErrorCode,
// ErrorDetails, LogResult with X-Amz-Log-Type: Tail). A function that does
// not stream comes as one chunk. AWS documents followed: the API reference
// (InvokeWithResponseStream), "Configuring a Lambda function to stream
// responses", botocore's model for the shapes. On the io_context thread.
#include "control_plane.hpp"
#include "eventstream.hpp"
#include "stream_rate.hpp"

#include "../logs/format.hpp"
#include "util/clock.hpp"

#include <spdlog/spdlog.h>

namespace lambdad::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// The response head goes out with the first piece (or at the end, for an
// answer without any); pieces go out as event frames, at Lambda's rate.
class EventStreamSink final : public runtime_api::ResponseSink {
 public:
  EventStreamSink(http::StreamOut& out, bhttp::response_header<> head, bool rate_limit)
      : out_(out), head_(std::move(head)), rate_(rate_limit) {}

  void begin(std::string /*content_type*/, bool /*streamed*/) override {}

  asio::awaitable<void> write(std::string_view bytes) override {
    if (closed) co_return;  // the invocation is over: nothing more from the runtime
    co_await put(bytes);
  }

  // The handler's own writes (an answer that was not streamed).
  asio::awaitable<void> put(std::string_view bytes) {
    while (!bytes.empty() && !out_.failed()) {
      auto piece = bytes.substr(0, eventstream::kMaxChunk);
      bytes.remove_prefix(piece.size());
      co_await rate_.pace(piece.size());
      std::string frame = eventstream::payload_chunk(piece);
      co_await send(std::move(frame));
    }
  }

  // (By value: a coroutine must own what it reads after suspending.)
  asio::awaitable<void> send(std::string frame) {
    if (!out_.started()) {
      bool ok = co_await out_.start(head_);
      if (!ok) co_return;
    }
    co_await out_.write(frame);
  }

  bool closed = false;

 private:
  http::StreamOut& out_;
  bhttp::response_header<> head_;
  StreamRate rate_;
};

// ErrorCode and ErrorDetails of a failed invocation: the error object's
// errorType and errorMessage.
std::pair<std::string, std::string> error_of(std::string const& body) {
  auto j = json::parse(body, nullptr, false);
  std::string type = "Unhandled", message;
  if (j.is_object()) {
    if (j.contains("errorType") && j["errorType"].is_string()) type = j["errorType"];
    if (j.contains("errorMessage") && j["errorMessage"].is_string()) message = j["errorMessage"];
  }
  return {type, message};
}

}  // namespace

asio::awaitable<Response> ControlPlane::invoke_with_response_stream(Call call) {
  auto prepared = prepare_invoke(call, {"RequestResponse", "DryRun"});
  if (!prepared) co_return error_response(call, prepared.error());
  auto& [fn, req, type, qualifier] = *prepared;
  if (type == "DryRun") co_return executed(empty_response(call, 204), fn);
  req.request_id = util::uuid4();
  bhttp::response_header<> head;
  head.result(bhttp::status::ok);
  head.set(bhttp::field::content_type, "application/vnd.amazon.eventstream");
  head.set("x-amzn-RequestId", req.request_id);
  head.set("X-Amz-Executed-Version", fn.version);
  auto sink = std::make_shared<EventStreamSink>(*call.out, std::move(head), cfg_.stream_rate_limit);
  req.sink = sink;
  auto result = co_await invoker_->invoke(fn, req);
  sink->closed = true;
  if (result.refused) co_return error_response(call, ApiError{500, "ServiceException", *result.refused, {}});
  if (result.throttled) co_return throttled_response(call, *result.throttled);
  // A function that did not stream: its answer as one chunk; a failure,
  // whenever it came, in the completion event.
  if (!result.streamed && !result.function_error && !result.body.empty()) co_await sink->put(result.body);
  std::optional<std::string> code, details, log_result;
  if (result.function_error) std::tie(code, details) = error_of(result.body);
  if (call.req["X-Amz-Log-Type"] == "Tail") {
    if (result.phase_end) co_await result.phase_end->wait();
    log_result = logs::tail_header(result.phase_end ? result.phase_end->result.log : result.log);
  }
  std::string complete = eventstream::invoke_complete(code, details, log_result);
  co_await sink->send(std::move(complete));
  co_await call.out->finish();
  spdlog::info("function {}: streamed invocation {}{}", fn.name, result.request_id,
               result.function_error ? " failed" : "");
  co_return Response{};
}

}  // namespace lambdad::api
