// The Runtime API of one execution environment, served on its own loopback
// listener (AWS_LAMBDA_RUNTIME_API): the long-poll /next, /response, /error
// and /init/error, and the Extensions API (/extension/register,
// /extension/event/next with INVOKE and SHUTDOWN, /extension/init/error and
// /extension/exit/error). It knows nothing of the scheduler or the control
// plane: the daemon hands it one invocation at a time with `invoke` and
// gets the runtime's answer back. Runs on the io_context thread.
#pragma once

#include "protocol.hpp"
#include "response_sink.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::runtime_api {

struct Outcome {
  enum class Kind { Response, FunctionError, TooLarge, TimedOut, Aborted, Closed };
  Kind kind = Kind::Closed;
  std::string body;        // the payload, or the runtime's error object
  std::string error_type;  // FunctionError: from the header, trailer or body
  std::size_t size = 0;    // TooLarge: the size the runtime tried to send; streamed: the bytes it sent
  bool streamed = false;   // the runtime streamed it (the body went to the sink, if there was one)
  // When /next handed the invocation over (unset if it never was), and when
  // the answer came: Duration in REPORT is the difference.
  std::optional<std::chrono::steady_clock::time_point> dispatched_at;
  std::chrono::steady_clock::time_point finished_at{};
  std::size_t limit = 0;  // TooLarge: the limit it passed (0: kMaxResponseBytes)
};

class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  explicit Endpoint(boost::asio::io_context& ioc);
  ~Endpoint();

  // Binds 127.0.0.1 on a free port; returns "127.0.0.1:PORT".
  std::optional<std::string> listen();
  // The port listen() took (0 before it, or for an adopted listener).
  std::uint16_t port() const { return port_; }
  // Serves on a listening socket made elsewhere (inside the environment's
  // network namespace). Takes ownership of `fd`.
  bool adopt(int fd);
  void start();
  // Stops accepting and wakes every waiter (invoke returns Closed).
  void close();
  // Serves one connection until it closes: what each accepted runtime
  // connection gets. Any Beast stream: a TCP stream here, a
  // beast::test::stream in the unit tests (defined in serve.hpp).
  template <class Stream>
  boost::asio::awaitable<void> serve(Stream& stream);

  // What /extension/register answers.
  struct FunctionInfo {
    std::string name;
    std::string version = "$LATEST";
    std::string handler;
    std::string account;
  };
  void set_function_info(FunctionInfo info) { info_ = std::move(info); }
  // External extensions started with the runtime: init is not over until
  // each has registered and called /extension/event/next.
  void expect_extensions(std::size_t n) { expected_extensions_ = n; }

  // Called once, when init is over: the runtime called /next and every
  // extension is waiting in /extension/event/next.
  std::function<void()> on_first_next;
  // Decides, for each accepted connection (by the peer's port on
  // 127.0.0.1), whether it comes from this environment; a refused one is
  // closed at once. Unset: every connection is served.
  std::function<bool(std::uint16_t peer_port)> accept_filter;
  // Called on POST /runtime/init/error or /extension/init/error with the
  // error type and body.
  std::function<void(std::string type, std::string body)> on_init_error;

  struct ExtensionInfo {
    std::string name;
    bool invoke = false;
    bool shutdown = false;
  };
  bool has_extensions() const { return !extensions_.empty(); }
  // The registered extensions, in the order they registered.
  std::vector<ExtensionInfo> extensions() const;
  // Waits until every extension is back in /extension/event/next with
  // nothing left to deliver (after an INVOKE: its post-processing is over;
  // after SHUTDOWN: it may also just hang up), at most `limit`. False on
  // timeout.
  boost::asio::awaitable<bool> extensions_settled(std::chrono::steady_clock::duration limit);
  // Queues SHUTDOWN for every extension that asked for it; how many did.
  std::size_t shutdown_extensions(std::string const& reason, std::int64_t deadline_epoch_ms);

  // Hands `inv` to the runtime (now, or at its next /next) and waits for its
  // answer: at most `pickup` for the runtime to fetch it (init), then
  // `timeout` from the moment it did. One invocation at a time. The answer
  // does not end the invoke phase: see invoke_phase_over.
  // With a sink, a streamed answer goes there as it arrives (up to
  // kMaxStreamedBytes); without one it is kept whole (kMaxResponseBytes).
  boost::asio::awaitable<Outcome> invoke(Invocation inv, std::chrono::steady_clock::duration pickup,
                                         std::chrono::steady_clock::duration timeout,
                                         std::shared_ptr<ResponseSink> sink = nullptr);
  // Ends the invocation in flight (the runtime died): invoke returns `kind`.
  void abort(Outcome::Kind kind);

  // After the answer: waits until the invoke phase is over, that is until
  // the runtime is back in /next and every extension in
  // /extension/event/next with nothing left to deliver ("Lambda Extensions
  // API", Invoke phase: it ends once the runtime and all extensions signal
  // they are done by calling Next), or the endpoint closed (the runtime
  // exited), or `until`.
  enum class PhaseEnd { Next, Closed, RuntimeBusy, ExtensionsBusy };
  boost::asio::awaitable<PhaseEnd> invoke_phase_over(std::chrono::steady_clock::time_point until);

 private:
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<Endpoint> self);
  boost::asio::awaitable<void> session(std::shared_ptr<Endpoint> self, boost::asio::ip::tcp::socket socket);
  void finish(Outcome outcome);
  struct Extension;
  using Waiters = std::vector<boost::asio::steady_timer*>;
  // Parks the calling coroutine until `notify(list)` or `until`.
  boost::asio::awaitable<void> park(Waiters& list, std::chrono::steady_clock::time_point until);
  static void notify(Waiters& list);
  bool settled() const;
  void maybe_finish_init();
  // Extensions API requests; the reply to send.
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Reply = boost::beast::http::response<boost::beast::http::string_body>;
  Reply extension_register(Request const& req);
  boost::asio::awaitable<Reply> extension_next(Request const& req, std::optional<std::string>& delivered_shutdown_to);
  // The routes (runtime-api/routes.cpp): the reply to send, none to hang up.
  using HeadParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;
  boost::asio::awaitable<std::optional<Reply>> dispatch(Request& req, Target const& target,
                                                        std::optional<std::string>& delivered_shutdown_to);
  boost::asio::awaitable<std::optional<Reply>> next(Request const& req);
  Reply answer(Request& req, Target const& target);
  template <class Stream>
  boost::asio::awaitable<std::optional<Reply>> streamed_answer(Stream& stream, boost::beast::flat_buffer& buffer,
                                                               HeadParser& head, Target const& target);
  Reply extension_error_report(Request& req, Target const& target);
  Reply init_error(Request& req);
  // Why an answer for `id` is refused (a second one, or not the one in flight).
  std::optional<ErrorReply> answer_refusal(std::string const& id) const;

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  boost::asio::steady_timer next_signal_;  // wakes a parked /next
  boost::asio::steady_timer done_signal_;  // wakes invoke()
  std::optional<Invocation> pending_;      // handed over, not yet fetched by /next
  std::optional<std::string> in_flight_;   // request id fetched by the runtime, not yet answered
  // Request ids answered lately: a second answer to one is a 403, however
  // late it comes (a frozen runtime sends it after the next invoke began).
  std::deque<std::string> answered_;
  void remember_answered(std::string id);
  std::optional<Outcome> outcome_;
  std::shared_ptr<ResponseSink> sink_;  // the invocation in flight's, if it takes a stream
  // The request id whose answer is being streamed (another answer for it
  // is refused), and whether a sink write is in progress: invoke() does not
  // return during one, so no sink is written to after its invocation ended.
  std::optional<std::string> streaming_;
  bool sink_writing_ = false;
  Waiters sink_waiters_;
  std::chrono::steady_clock::duration timeout_{};
  std::optional<std::chrono::steady_clock::time_point> dispatched_at_;
  struct Extension {
    std::string name;
    bool invoke = false;
    bool shutdown = false;
    int order = 0;
    std::vector<std::string> queue;  // events not yet delivered, oldest first
    bool parked = false;             // waiting in /extension/event/next
    bool gone = false;               // hung up after its SHUTDOWN
    Waiters waiters;
  };
  std::map<std::string, Extension> extensions_;  // by Lambda-Extension-Identifier
  std::size_t expected_extensions_ = 0;
  FunctionInfo info_;
  Waiters settle_waiters_;  // woken when an extension or the runtime parks, or one hangs up
  bool runtime_parked_ = false;  // the runtime waits in /next, init over
  bool init_done_ = false;
  bool first_next_seen_ = false;
  bool init_failed_ = false;  // after /init/error no event is handed out
  bool closed_ = false;
};

}  // namespace lambdad::runtime_api
