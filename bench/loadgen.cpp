// A load generator for the throughput bench (bench/throughput.py): C
// keep-alive connections on one thread, each sending POSTs back to back to
// its target (connection k goes to target k % targets), every answer
// checked (status 200 and, with --check-echo, the body it sent). Prints one
// JSON line: count, errors, seconds, rate, bytes, and latency percentiles in
// microseconds, measured from writing the request to having the whole answer.
//
//   loadgen --target 127.0.0.1:9000/2015-03-31/functions/f0/invocations [--target ...]
//           --connections 8 --requests 100000 [--body-bytes 64] [--check-echo]
//           [--warmup 1000]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  std::string host, port, path;
};

struct Options {
  std::vector<Target> targets;
  int connections = 1;
  long requests = 1000;  // measured, after the warm-up
  long warmup = 0;
  std::size_t body_bytes = 64;
  bool check_echo = false;
};

struct Totals {
  long next = 0;       // requests handed out (warm-up included)
  long errors = 0;
  std::string first_error;
  std::size_t bytes = 0;  // request and answer bodies, measured part only
  std::vector<std::uint32_t> micros;
  Clock::time_point begin{};
};

Target parse_target(std::string const& s) {
  auto slash = s.find('/');
  auto hostport = s.substr(0, slash);
  auto colon = hostport.rfind(':');
  if (slash == std::string::npos || colon == std::string::npos) {
    std::fprintf(stderr, "loadgen: --target HOST:PORT/PATH, not %s\n", s.c_str());
    std::exit(2);
  }
  return {hostport.substr(0, colon), hostport.substr(colon + 1), s.substr(slash)};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "loadgen: %s wants a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--target") o.targets.push_back(parse_target(value()));
    else if (a == "--connections") o.connections = std::stoi(value());
    else if (a == "--requests") o.requests = std::stol(value());
    else if (a == "--warmup") o.warmup = std::stol(value());
    else if (a == "--body-bytes") o.body_bytes = std::stoul(value());
    else if (a == "--check-echo") o.check_echo = true;
    else {
      std::fprintf(stderr, "loadgen: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.targets.empty()) {
    std::fprintf(stderr, "loadgen: at least one --target\n");
    std::exit(2);
  }
  return o;
}

// A JSON object of about `bytes` bytes that names request n (so an answer
// meant for another request does not pass the echo check).
std::string body_for(long n, std::size_t bytes) {
  std::string head = "{\"n\":" + std::to_string(n) + ",\"pad\":\"";
  std::string body = head;
  if (bytes > head.size() + 2) body.append(bytes - head.size() - 2, 'x');
  return body + "\"}";
}

void fail(Totals& t, std::string what) {
  if (t.errors++ == 0) t.first_error = std::move(what);
}

asio::awaitable<void> connection(Options const& o, Target const& target, Totals& t) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  tcp::socket sock(ex);
  co_await asio::async_connect(sock, co_await resolver.async_resolve(target.host, target.port, asio::use_awaitable),
                               asio::use_awaitable);
  sock.set_option(tcp::no_delay(true));
  boost::beast::flat_buffer buf;
  // Beast reads at most the buffer's free room: without room a 5 MB answer
  // takes ~4,000 reads here, and the client, not the server, is measured.
  buf.reserve(std::min<std::size_t>(o.body_bytes + 4096, std::size_t{1} << 20));
  long const total = o.warmup + o.requests;
  while (t.next < total) {
    long n = t.next++;
    if (n == o.warmup) t.begin = Clock::now();
    http::request<http::string_body> req{http::verb::post, target.path, 11};
    req.set(http::field::host, target.host);
    req.set(http::field::content_type, "application/json");
    req.body() = body_for(n, o.body_bytes);
    req.prepare_payload();
    auto t0 = Clock::now();
    co_await http::async_write(sock, req, asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    co_await http::async_read(sock, buf, parser, asio::use_awaitable);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    auto const& res = parser.get();
    if (res.result_int() != 200) fail(t, "status " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200));
    else if (o.check_echo && res.body() != req.body()) fail(t, "request " + std::to_string(n) + " got another answer: " + res.body().substr(0, 200));
    if (n >= o.warmup) {
      t.micros.push_back(static_cast<std::uint32_t>(us));
      t.bytes += req.body().size() + res.body().size();
    }
  }
}

double pct(std::vector<std::uint32_t> const& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  asio::io_context ioc(1);
  Totals t;
  t.micros.reserve(static_cast<std::size_t>(o.requests));
  if (o.warmup == 0) t.begin = Clock::now();
  for (int k = 0; k < o.connections; ++k)
    asio::co_spawn(ioc, connection(o, o.targets[static_cast<std::size_t>(k) % o.targets.size()], t),
                   [&t](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (std::exception const& x) {
                       fail(t, std::string("connection: ") + x.what());
                     }
                   });
  ioc.run();
  // No measured answer (every connection failed in the warm-up): no time either.
  double secs = t.micros.empty() ? 0.0 : std::chrono::duration<double>(Clock::now() - t.begin).count();
  std::sort(t.micros.begin(), t.micros.end());
  std::printf(
      "{\"count\":%zu,\"errors\":%ld,\"seconds\":%.4f,\"rate\":%.1f,\"bytes\":%zu,"
      "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"first_error\":\"%s\"}\n",
      t.micros.size(), t.errors, secs, secs > 0 ? static_cast<double>(t.micros.size()) / secs : 0.0, t.bytes, pct(t.micros, 50),
      pct(t.micros, 90), pct(t.micros, 99), t.micros.empty() ? 0.0 : static_cast<double>(t.micros.back()),
      t.errors ? "see stderr" : "");
  if (t.errors) std::fprintf(stderr, "loadgen: %ld errors; first: %s\n", t.errors, t.first_error.c_str());
  return t.errors ? 1 : 0;
}
