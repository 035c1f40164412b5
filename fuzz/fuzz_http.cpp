// The HTTP front as it runs: each input is sent as raw bytes over a real
// loopback connection to an http::Server serving a ControlPlane on a state
// directory of its own (no invoker: invokes get their refusal), which
// parses it with Beast under the front's limits, routes it through the route
// table and runs its handler. Any bytes must get an answer or a closed
// connection, never a crash, a hang (libFuzzer's -timeout) or a leak.
#include "api/control_plane.hpp"
#include "http/server.hpp"
#include "input.hpp"
#include "store/state_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <thread>

using namespace lambdad;
namespace asio = boost::asio;

namespace {

// Made once and never destroyed: libFuzzer ends the process with exit(),
// while the server's thread still runs.
struct Front {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  asio::thread_pool pool{1};
  store::StateDir* disk = nullptr;
  api::ControlPlane* plane = nullptr;
  http::Server* server = nullptr;
  unsigned short port = 0;
  std::thread* runner = nullptr;

  Front() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/lambdad-fuzz-http-XXXXXX";
    if (!::mkdtemp(tmpl)) fuzz::violated("cannot make a state directory");
    disk = new store::StateDir(tmpl, false);
    auto loaded = disk->open();
    if (!loaded) fuzz::violated("cannot open the state directory");
    plane = new api::ControlPlane(api::Config{}, *disk, pool);
    plane->load(*loaded);
    http::Limits limits;
    limits.idle_timeout = std::chrono::seconds(2);
    limits.read_timeout = std::chrono::seconds(2);
    server = new http::Server(ioc, *plane, limits);
    auto at = server->listen({asio::ip::make_address("127.0.0.1"), 0});
    if (!at) fuzz::violated("cannot listen");
    port = at->port();
    server->start();
    runner = new std::thread([this] { ioc.run(); });
  }
};

Front& front() {
  static Front* f = new Front();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  auto& f = front();
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) fuzz::violated("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(f.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{8, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fuzz::violated("connect");
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(s, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (a refused header)
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) fuzz::violated("no answer and no close in 8 s");
      break;  // reset
    }
  }
  ::close(s);
  return 0;
}
