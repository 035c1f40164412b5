#include "serve.hpp"

#include "logs/store.hpp"
#include "probe.hpp"
#include "util/fsutil.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace lambdad {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

Result<tcp::endpoint> parse_listen(std::string const& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return plain_error("--listen `" + text + "`: expected HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return plain_error("--listen `" + text + "`: `" + host + "` is not an IP address");
  char* end = nullptr;
  long port = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return plain_error("--listen `" + text + "`: bad port");
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

// Waits for in-flight requests to finish (bounded), then stops the loop.
// lambdad-init, opened O_PATH: $LAMBDAD_INIT, next to this binary, or
// where it is installed.
std::pair<int, std::string> open_init() {
  std::vector<std::string> candidates;
  if (char const* e = std::getenv("LAMBDAD_INIT")) candidates.push_back(e);
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((self.parent_path() / "lambdad-init").string());
  candidates.push_back(LAMBDAD_LIBEXECDIR "/lambdad-init");
  for (auto const& c : candidates) {
    int fd = ::open(c.c_str(), O_PATH | O_CLOEXEC);
    if (fd >= 0) return {fd, c};
  }
  return {-1, ""};
}

asio::awaitable<void> drain(asio::io_context* ioc, http::Server* server, std::chrono::seconds bound) {
  asio::steady_timer timer(*ioc);
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (server->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (server->in_flight() > 0) spdlog::warn("stopping with {} request(s) still in flight", server->in_flight());
  ioc->stop();
}

}  // namespace

int serve(ServeOptions const& opts) {
  auto endpoint = parse_listen(opts.listen);
  if (!endpoint) {
    spdlog::critical("{}", endpoint.error().message());
    return 2;
  }
  store::StateDir disk(opts.state_dir, opts.sync_code);
  if (!opts.sync_code)
    spdlog::warn("--sync-code=false: zips and unpacked trees are not flushed to disk; a power loss (not a crash "
                 "of lambdad) may leave a function whose code is incomplete");
  auto loaded = disk.open();
  if (!loaded) {
    spdlog::critical("state directory: {}", loaded.error().message());
    return 1;
  }
  for (auto const& note : loaded->notes) spdlog::info("start-up: {}", note);

  // The sandbox: what this machine offers, said once at start (the same
  // as `lambdad doctor`), and what follows from it.
  auto caps = sandbox::probe();
  for (auto const& f : caps.features)
    spdlog::log(f.available || f.name == "user namespaces" ? spdlog::level::info : spdlog::level::warn,
                "sandbox: {}: {}", f.name, f.detail);
  exec::InvokerOptions invoker_opts = opts.invoker;
  if (!invoker_opts.sandbox.enabled) {
    spdlog::warn("sandbox: --no-sandbox: BOOTSTRAPS RUN AS PLAIN PROCESSES of this user, with the host's files, "
                 "network and processes in reach; no /var/task or /opt (LAMBDA_TASK_ROOT is the code tree on the "
                 "host), no limits. For machines without namespaces only.");
  } else if (!caps.root && caps.namespaces) {
    invoker_opts.sandbox.rootless = true;
    spdlog::warn("sandbox: not root: rootless mode, each environment in a user namespace of its own (uid {} inside "
                 "is uid {} outside); no cgroups: MemorySize and the pids limit are not enforced, nothing is frozen, "
                 "Max Memory Used comes from /proc",
                 invoker_opts.sandbox.identity ? invoker_opts.sandbox.identity->first : 0, ::getuid());
  } else if (!caps.root || !caps.namespaces) {
    spdlog::critical("sandbox: lambdad needs root, or user namespaces, and mount/pid namespaces to isolate "
                     "functions; --no-sandbox runs them as plain processes instead");
    return 1;
  }
  if (!caps.overlayfs && invoker_opts.sandbox.overlay) {
    spdlog::warn("sandbox: no overlayfs: functions with two or more layers get a merged tree of hard links");
    invoker_opts.sandbox.overlay = false;
  }
  invoker_opts.sandbox.merged_dir = (disk.root() / "sandbox" / "merged").string();
  if (invoker_opts.sandbox.enabled) {
    auto [fd, where] = open_init();
    invoker_opts.sandbox.init_fd = fd;
    if (fd >= 0) spdlog::info("sandbox: pid 1 of each environment is {}", where);
    else spdlog::warn("sandbox: lambdad-init not found (next to lambdad, in " LAMBDAD_LIBEXECDIR ", or $LAMBDAD_INIT): "
                      "the bootstrap is pid 1 and orphans it does not reap stay zombies until the environment ends");
  }
  struct CloseInit {
    int fd;
    ~CloseInit() {
      if (fd >= 0) ::close(fd);
    }
  } close_init{invoker_opts.sandbox.init_fd};
  invoker_opts.sandbox.root_mount = (disk.root() / "sandbox" / "root").string();
  std::error_code mkdir_ec;
  std::filesystem::create_directories(invoker_opts.sandbox.root_mount, mkdir_ec);
  if (mkdir_ec) {
    spdlog::critical("sandbox: cannot create {}: {}", invoker_opts.sandbox.root_mount, mkdir_ec.message());
    return 1;
  }
  std::optional<sandbox::Cgroups> cgroups;
  if (caps.cgroups.version > 0 && opts.use_cgroups && caps.root) {
    auto opened = sandbox::Cgroups::open(caps.cgroups, ::getpid());
    if (opened) {
      cgroups = std::move(*opened);
      for (auto const& dir : cgroups->cleaned()) spdlog::info("start-up: removed the cgroup {} of a daemon that is gone", dir);
      invoker_opts.sandbox.cgroups = &*cgroups;
    } else {
      spdlog::warn("sandbox: cgroups unusable ({}): no memory or pids limit, Max Memory Used from /proc",
                   opened.error().message());
    }
  } else if (!opts.use_cgroups) {
    spdlog::warn("sandbox: --cgroups=false: no memory or pids limit, no freezing, Max Memory Used from /proc");
  }
  struct CloseCgroups {
    std::optional<sandbox::Cgroups>& cg;
    ~CloseCgroups() {
      if (cg) cg->close();
    }
  } close_cgroups{cgroups};

  // Log groups outlive everything that writes to them (environments are
  // destroyed with the io_context's pending work).
  logs::LogStore log_store(disk.root() / "logs");
  asio::io_context ioc(1);
  asio::thread_pool pool(opts.pool_threads);
  api::ControlPlane plane(opts.api, disk, pool);
  plane.load(*loaded);
  exec::Invoker invoker(ioc, invoker_opts, &log_store);
  plane.set_invoker(&invoker, opts.invoker.max_concurrency);
  plane.set_logs(&log_store);

  http::Limits limits;
  limits.max_body_bytes = opts.max_body_bytes;
  limits.idle_timeout = opts.idle_timeout;
  limits.read_timeout = opts.read_timeout;
  http::Server server(ioc, plane, limits);
  auto bound = server.listen(*endpoint);
  if (!bound) {
    spdlog::critical("{}", bound.error().message());
    pool.join();
    return 1;
  }
  if (!bound->address().is_loopback())
    spdlog::warn("listening on {} which is not a loopback address: anyone who can reach it can deploy and run code",
                 bound->address().to_string());
  std::string where = bound->address().to_string() + ":" + std::to_string(bound->port());
  server.start();

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping (no new connections; draining in-flight requests)", sig);
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining in-flight requests");
    server.stop();
    plane.stop_streams();
    asio::co_spawn(ioc, drain(&ioc, &server, opts.drain_timeout), asio::detached);
  });

  spdlog::info("lambdad listening on {} (state {}, region {}, account {}): {} function(s), {} layer version(s)", where,
               disk.root().string(), opts.api.identity.region, opts.api.identity.account, plane.function_count(),
               plane.layer_version_count());
  if (!opts.ready_file.empty()) {
    auto tmp = opts.ready_file.parent_path().empty() ? std::filesystem::path(".") : opts.ready_file.parent_path();
    if (auto r = util::write_file_atomic(opts.ready_file, where + "\n", tmp); !r)
      spdlog::warn("ready file: {}", r.error().message());
  }
  // systemd (Type=notify): ready once listening with the state loaded, a
  // one-line status, and the watchdog when the unit asks for one. Without
  // NOTIFY_SOCKET these do nothing.
  std::string status = "STATUS=listening on " + where + ": " + std::to_string(plane.function_count()) +
                       " function(s), " + std::to_string(plane.layer_version_count()) + " layer version(s)";
  sd_notify(0, ("READY=1\n" + status).c_str());
  std::uint64_t watchdog_usec = 0;
  asio::steady_timer watchdog(ioc);
  std::function<void()> pet;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    pet = [&] {
      sd_notify(0, "WATCHDOG=1");
      watchdog.expires_after(std::chrono::microseconds(watchdog_usec / 2));
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec) pet();
      });
    };
    pet();
    spdlog::info("systemd watchdog: every {} ms", watchdog_usec / 2000);
  }
  ioc.run();  // ends with drain()'s ioc.stop(), whatever is still pending
  invoker.shutdown();  // every environment's process tree ends and is reaped
  pool.join();
  spdlog::info("lambdad stopped");
  return 0;
}

}  // namespace lambdad

namespace lambdad {

int doctor() {
  auto caps = sandbox::probe();
  std::printf("lambdad doctor: what this machine offers the sandbox\n\n");
  for (auto const& f : caps.features)
    std::printf("  %-36s %-9s %s\n", f.name.c_str(), f.name == "note" ? "" : f.available ? "yes" : "NO", f.detail.c_str());
  bool ok = caps.namespaces;
  std::printf("\n%s\n", !ok ? "functions cannot run here: lambdad needs namespaces (as root, or in a user namespace)"
                            : caps.root ? "functions can run here, fully isolated"
                                        : "functions can run here, rootless: no cgroup limits");
  return ok ? 0 : 1;
}

}  // namespace lambdad
