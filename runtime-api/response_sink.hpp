// Where a streamed answer goes as the runtime writes it: the invoker hands
// one to Endpoint::invoke for a caller that takes a stream
// (InvokeWithResponseStream, a function URL in RESPONSE_STREAM mode). The
// endpoint calls begin() once, when the runtime's /response starts, then
// write() for each piece of body as it arrives; it waits for each write(),
// so a slow caller slows the runtime down (nothing is buffered whole).
// A buffered answer (not streamed by the runtime) reaches it as one write.
// After the invocation ended (a timeout) the sink must take and drop
// whatever still comes. On the io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace lambdad::runtime_api {

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // The answer's Content-Type, and whether the runtime streams it
  // (Lambda-Runtime-Function-Response-Mode: streaming).
  virtual void begin(std::string content_type, bool streamed) = 0;
  virtual boost::asio::awaitable<void> write(std::string_view bytes) = 0;
};

}  // namespace lambdad::runtime_api
