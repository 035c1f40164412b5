#include "serve.hpp"

#include "logs/store.hpp"
#include "exec/shell_pool.hpp"
#include "probe.hpp"
#include "rootfs.hpp"
#include "settings.hpp"
#include "util/fd.hpp"
#include "util/fsutil.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
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

// lambdad's runtime clients: $LAMBDAD_RUNTIMES, where they are installed,
// or the build tree this binary was built in (tests, tools/dev.sh serve;
// staged there with their bytecode by tools/stage-runtimes.py).
std::filesystem::path runtimes_dir() {
  if (char const* e = std::getenv("LAMBDAD_RUNTIMES")) return e;
  std::error_code ec;
  if (std::filesystem::exists(LAMBDAD_LIBEXECDIR "/runtimes", ec)) return LAMBDAD_LIBEXECDIR "/runtimes";
  return LAMBDAD_BUILD_RUNTIMES;
}

// Every managed runtime's interpreter, found once (configured, else on PATH).
runtimes::Availability probe_runtimes(std::vector<std::string> const& configured, std::string const& rootfs) {
  std::map<std::string, std::string> paths;
  for (auto const& c : configured) {
    auto eq = c.find('=');
    if (eq != std::string::npos) paths[c.substr(0, eq)] = c.substr(eq + 1);
  }
  // The directories an environment sees (the host's /usr and /bin, or the
  // --rootfs image's), not the daemon's own PATH.
  return runtimes::probe(paths, "/usr/local/bin:/usr/bin:/bin", rootfs, runtimes_dir());
}

// What every function's environment gets from the daemon: credentials (the
// daemon's own if it has some, else a key of [[auth.keys]], else local test
// values), and the daemon itself as the Lambda and STS endpoints (the SDKs'
// AWS_ENDPOINT_URL_<SERVICE>), plus --function-endpoint-url for the rest.
std::map<std::string, std::string> function_env(ServeOptions const& opts, std::string const& where) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "test"}, {"AWS_SECRET_ACCESS_KEY", "test"},
                                            {"AWS_SESSION_TOKEN", "test"}};
  if (!opts.api.auth_keys.empty()) {
    env["AWS_ACCESS_KEY_ID"] = opts.api.auth_keys.begin()->first;
    env["AWS_SECRET_ACCESS_KEY"] = opts.api.auth_keys.begin()->second;
  }
  if (char const* id = std::getenv("AWS_ACCESS_KEY_ID"); id && std::getenv("AWS_SECRET_ACCESS_KEY")) {
    env["AWS_ACCESS_KEY_ID"] = id;
    env["AWS_SECRET_ACCESS_KEY"] = std::getenv("AWS_SECRET_ACCESS_KEY");
    if (char const* token = std::getenv("AWS_SESSION_TOKEN")) env["AWS_SESSION_TOKEN"] = token;
    else env.erase("AWS_SESSION_TOKEN");
  }
  std::string host = where.rfind("0.0.0.0:", 0) == 0 ? "127.0.0.1" + where.substr(7) : where;
  env["AWS_ENDPOINT_URL_LAMBDA"] = "http://" + host;
  env["AWS_ENDPOINT_URL_STS"] = "http://" + host;
  if (!opts.function_endpoint_url.empty()) env["AWS_ENDPOINT_URL"] = opts.function_endpoint_url;
  return env;
}

// Linux `major.minor` or later (uname's release).
bool kernel_at_least(int major, int minor) {
  utsname u{};
  int ma = 0, mi = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// The root filesystem's plan, made once at start. /etc is the host's,
// read-only, through one overlay mount per environment (its top layer
// written here), unless overlayfs is not to be used or cannot be mounted
// in a user namespace (Linux 5.11); then only a few of the host's files.
sandbox::RootfsPlan root_plan(exec::SandboxOptions const& sb, std::filesystem::path const& state,
                              std::string const& config_file) {
  sandbox::RootfsPlan plan;
  plan.root = sb.root_mount;
  plan.image = sb.rootfs;
  plan.user = sb.user;
  plan.hostname = sb.hostname;
  if (sb.identity) std::tie(plan.uid, plan.gid) = *sb.identity;
  // The daemon's configuration (SigV4 keys), wherever the image shows it.
  plan.hidden = {"/etc/lambdad", std::filesystem::path(default_config_path()).parent_path().string()};
  if (!config_file.empty()) plan.hidden.push_back(std::filesystem::absolute(config_file).string());
  if (!sb.rootfs.empty()) {
    spdlog::info("sandbox: /etc: the image's, without the sandbox's own files and the hidden ones");
    return plan;
  }
  std::string why;
  if (!sb.overlay) why = "no overlayfs (or --overlay false)";
  else if (sb.rootless && !kernel_at_least(5, 11)) why = "rootless before Linux 5.11 (no overlayfs in a user namespace)";
  if (why.empty()) {
    plan.etc_layer = (state / "sandbox" / "etc").string();
    auto hidden = sandbox::write_etc_layer(plan);
    if (hidden) {
      std::string names;
      for (auto const& h : *hidden) names += (names.empty() ? "" : ", ") + h;
      spdlog::info("sandbox: /etc: the host's, read-only (an overlay), with the sandbox's own passwd, group, hosts, "
                   "hostname and resolv.conf; hidden: {}", names);
      return plan;
    }
    why = hidden.error().message();
    plan.etc_layer.clear();
  }
  spdlog::warn("sandbox: /etc: {}: only a few of the host's files (the loader cache, ssl, alternatives, localtime, "
               "...); runtimes that read more there (Java's /etc/java-*, Python's /etc/python3.*) may fail", why);
  return plan;
}

asio::awaitable<void> pause(asio::steady_timer& timer) {
  timer.expires_after(std::chrono::milliseconds(10));
  co_await timer.async_wait(asio::use_awaitable);
}

// SIGTERM: requests and invocations in flight get `drain` to finish; then
// the invoker fails what still runs and ends every environment (SHUTDOWN,
// SIGTERM, SIGKILL after `grace`); the answers are written; the loop stops.
asio::awaitable<void> stop_all(asio::io_context* ioc, http::Server* server, exec::Invoker* invoker,
                               std::chrono::seconds drain, std::chrono::milliseconds grace) {
  asio::steady_timer timer(*ioc);
  auto start = std::chrono::steady_clock::now();
  while ((server->in_flight() > 0 || invoker->in_flight() > 0) && std::chrono::steady_clock::now() < start + drain)
    co_await pause(timer);
  auto drained = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  co_await invoker->stop(drained, grace);
  // Every environment is reaped: the invocations that waited on one finish
  // now (their answers are written); none may outlive the invoker.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((server->in_flight() > 0 || invoker->in_flight() > 0) && std::chrono::steady_clock::now() < until)
    co_await pause(timer);
  if (server->in_flight() > 0 || invoker->in_flight() > 0)
    spdlog::warn("stopping with {} request(s) and {} invocation(s) still in flight", server->in_flight(),
                 invoker->in_flight());
  ioc->stop();
}

// Mounts under the state directory in the daemon's own namespace: none is
// ever made there (each environment mounts in its own namespace), so any
// found at start is a leftover of something else gone wrong; each is
// detached and named.
std::vector<std::string> clean_mounts(std::filesystem::path const& root) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string prefix = root.string() + "/";
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devs, source_root, mount_point;
    fields >> id >> parent >> devs >> source_root >> mount_point;
    if (mount_point.rfind(prefix, 0) == 0) found.push_back(mount_point);
  }
  // Deepest first.
  std::sort(found.begin(), found.end(), [](auto const& a, auto const& b) { return a.size() > b.size(); });
  std::vector<std::string> cleaned;
  for (auto const& m : found)
    if (::umount2(m.c_str(), MNT_DETACH) == 0) cleaned.push_back(m);
    else spdlog::warn("start-up: a mount is left at {} and cannot be detached: {}", m, std::strerror(errno));
  return cleaned;
}

template <class T>
std::string text(T const& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_arithmetic_v<T>) return std::to_string(v);
  else if constexpr (requires { v.count(); }) return std::to_string(v.count());
  else if constexpr (requires { v.string(); }) return v.string();
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string out;
    for (auto const& e : v) out += (out.empty() ? "" : ",") + e;
    return out;
  } else return std::string(v);
}

// Applies what SIGHUP can change (log level, limits, keep-alive, timeouts,
// authentication) and says what it applied and what needs a restart.
std::string apply_reload(ServeOptions& cur, ServeOptions const& next, http::Server& server, exec::Invoker& invoker,
                         api::ControlPlane& plane) {
  std::vector<std::string> applied, restart;
  auto live = [&](char const* name, auto& have, auto const& want) {
    if (have == want) return;
    applied.push_back(std::string(name) + " " + text(have) + " -> " + text(want));
    have = want;
  };
  auto fixed = [&](char const* name, auto const& have, auto const& want) {
    if (!(have == want)) restart.push_back(std::string(name) + " (" + text(have) + " -> " + text(want) + ")");
  };
  live("log_level", cur.log_level, next.log_level);
  live("keep_alive_ms", cur.invoker.keep_alive, next.invoker.keep_alive);
  live("max_concurrency", cur.invoker.max_concurrency, next.invoker.max_concurrency);
  live("max_environments", cur.invoker.max_environments, next.invoker.max_environments);
  live("drain_timeout", cur.drain_timeout, next.drain_timeout);
  live("shutdown_grace_ms", cur.shutdown_grace, next.shutdown_grace);
  live("idle_timeout", cur.idle_timeout, next.idle_timeout);
  live("read_timeout", cur.read_timeout, next.read_timeout);
  live("max_entries", cur.api.unpack.max_entries, next.api.unpack.max_entries);
  live("max_zip_bytes", cur.api.max_zip_bytes, next.api.max_zip_bytes);
  live("max_unzipped_bytes", cur.api.max_unzipped_bytes, next.api.max_unzipped_bytes);
  live("max_payload_bytes", cur.api.max_payload_bytes, next.api.max_payload_bytes);
  live("max_event_payload_bytes", cur.api.max_event_payload_bytes, next.api.max_event_payload_bytes);
  live("event_retry_delay_ms", cur.api.event_retry_delay_ms, next.api.event_retry_delay_ms);
  live("default_function", cur.api.default_function, next.api.default_function);
  live("auth", cur.api.auth, next.api.auth);
  live("url_permissions", cur.api.url_permissions, next.api.url_permissions);
  live("stream_rate_limit", cur.api.stream_rate_limit, next.api.stream_rate_limit);
  live("log_retention_days", cur.api.log_retention_days, next.api.log_retention_days);
  if (cur.api.auth_keys != next.api.auth_keys) {
    applied.push_back("auth.keys (" + std::to_string(next.api.auth_keys.size()) + " key(s))");
    cur.api.auth_keys = next.api.auth_keys;
  }
  fixed("listen", cur.listen, next.listen);
  fixed("function_endpoint_url", cur.function_endpoint_url, next.function_endpoint_url);
  fixed("hot_reload_dirs", cur.hot_reload_dirs, next.hot_reload_dirs);
  fixed("destinations.endpoint_url", cur.api.destinations.endpoint_url, next.api.destinations.endpoint_url);
  fixed("runtimes", cur.runtime_interpreters, next.runtime_interpreters);
  fixed("state_dir", cur.state_dir, next.state_dir);
  fixed("region", cur.api.identity.region, next.api.identity.region);
  fixed("account_id", cur.api.identity.account, next.api.identity.account);
  fixed("pool_threads", cur.pool_threads, next.pool_threads);
  fixed("sync_code", cur.sync_code, next.sync_code);
  fixed("cgroups", cur.use_cgroups, next.use_cgroups);
  auto const &sa = cur.invoker.sandbox, &sb = next.invoker.sandbox;
  fixed("sandbox.enabled", sa.enabled, sb.enabled);
  fixed("sandbox.rootfs", sa.rootfs, sb.rootfs);
  fixed("sandbox.runtime_dir", sa.runtime_dir, sb.runtime_dir);
  fixed("sandbox.user", sa.user, sb.user);
  fixed("sandbox.uid", sa.identity ? sa.identity->first : 0, sb.identity ? sb.identity->first : 0);
  fixed("sandbox.gid", sa.identity ? sa.identity->second : 0, sb.identity ? sb.identity->second : 0);
  fixed("sandbox.freeze", sa.freeze, sb.freeze);
  fixed("sandbox.seccomp", sa.seccomp, sb.seccomp);
  fixed("sandbox.overlay", sa.overlay, sb.overlay);
  fixed("sandbox.pool", sa.pool, sb.pool);
  fixed("sandbox.network", sa.isolated_network ? "isolated" : "host", sb.isolated_network ? "isolated" : "host");

  spdlog::set_level(spdlog::level::from_str(cur.log_level));
  invoker.set_limits(cur.invoker.keep_alive, cur.invoker.max_concurrency, cur.invoker.max_environments);
  auto limits = server.limits();
  limits.idle_timeout = cur.idle_timeout;
  limits.read_timeout = cur.read_timeout;
  server.set_limits(limits);
  plane.reconfigure(cur.api);

  std::string out = "configuration read again";
  if (!cur.config_file.empty()) out += " from " + cur.config_file;
  out += "; applied: ";
  if (applied.empty()) out += "nothing (no change)";
  for (std::size_t i = 0; i < applied.size(); ++i) out += (i ? ", " : "") + applied[i];
  if (!restart.empty()) {
    out += "; needs a restart, not applied: ";
    for (std::size_t i = 0; i < restart.size(); ++i) out += (i ? ", " : "") + restart[i];
  }
  return out;
}

}  // namespace

// Idle keep-alive clients hold a descriptor each: the soft limit of open
// files goes up to the hard one (environments get Lambda's 1024 again).
static void raise_open_files() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (auto env = exec::environment_open_files(); env < 1024)
    spdlog::warn("open files: the hard limit is {}: environments get {}, not Lambda's 1024", lim.rlim_max, env);
  if (lim.rlim_cur >= lim.rlim_max) return;
  rlim_t was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) == 0) spdlog::info("open files: up to {} (was {})", lim.rlim_cur, was);
}

int serve(ServeOptions const& opts) {
  ServeOptions current = opts;  // SIGHUP changes some of it
  raise_open_files();
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
  if (!opts.config_file.empty()) spdlog::info("configuration: {}", opts.config_file);
  for (auto const& w : opts.config_warnings) spdlog::warn("configuration: {}", w);
  for (auto const& m : clean_mounts(std::filesystem::absolute(disk.root())))
    spdlog::info("start-up: detached the mount {} left by a previous run", m);

  // The sandbox: what this machine offers, said once at start (the same
  // as `lambdad doctor`), and what follows from it.
  auto caps = sandbox::probe();
  for (auto const& f : caps.features)
    spdlog::log(f.available || f.name == "user namespaces" || f.name == "start inside the cgroup"
                    ? spdlog::level::info
                    : spdlog::level::warn,
                "sandbox: {}: {}", f.name, f.detail);
  exec::InvokerOptions invoker_opts = opts.invoker;
  if (!invoker_opts.sandbox.enabled) {
    spdlog::warn("sandbox: --no-sandbox: BOOTSTRAPS RUN AS PLAIN PROCESSES of this user, with the host's files, "
                 "network and processes in reach; no /var/task or /opt (LAMBDA_TASK_ROOT is the code tree on the "
                 "host), no limits. For machines without namespaces only.");
  } else if (!caps.root && caps.namespaces) {
    invoker_opts.sandbox.rootless = true;
    spdlog::warn("sandbox: not root: rootless mode, each environment in a user namespace of its own (uid {} inside "
                 "is uid {} outside); no cgroups: MemorySize is not enforced, processes only by RLIMIT_NPROC, nothing is frozen, "
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
  // The filter the probe built (its line above says why there is none).
  if (auto& sb = invoker_opts.sandbox; sb.enabled && sb.seccomp) sb.filter = caps.seccomp;
  else if (sb.enabled) spdlog::warn("sandbox: --seccomp false: environments run without a system-call filter");
  invoker_opts.sandbox.merged_dir = (disk.root() / "sandbox" / "merged").string();
  if (invoker_opts.sandbox.enabled) {
    auto [fd, where] = open_init();
    invoker_opts.sandbox.init_fd = fd;
    if (fd >= 0) spdlog::info("sandbox: pid 1 of each environment is {}", where);
    else spdlog::warn("sandbox: lambdad-init not found (next to lambdad, in " LAMBDAD_LIBEXECDIR ", or $LAMBDAD_INIT): "
                      "the bootstrap is pid 1 and orphans it does not reap stay zombies until the environment ends");
  }
  util::Fd close_init(invoker_opts.sandbox.init_fd);  // the options only borrow it
  invoker_opts.sandbox.root_mount = (disk.root() / "sandbox" / "root").string();
  std::error_code mkdir_ec;
  std::filesystem::create_directories(invoker_opts.sandbox.root_mount, mkdir_ec);
  if (mkdir_ec) {
    spdlog::critical("sandbox: cannot create {}: {}", invoker_opts.sandbox.root_mount, mkdir_ec.message());
    return 1;
  }
  if (auto& sb = invoker_opts.sandbox; sb.enabled && sb.pivot_root) {
    // The root filesystem reads the host (or --rootfs) once, here.
    auto plan = root_plan(sb, disk.root(), opts.config_file);
    sb.root_ops = std::make_shared<std::vector<sandbox::MountOp> const>(sandbox::rootfs_ops(plan));
  }
  std::optional<sandbox::Cgroups> cgroups;
  if (caps.cgroups.version > 0 && opts.use_cgroups && caps.root) {
    auto opened = sandbox::Cgroups::open(caps.cgroups, ::getpid());
    if (opened) {
      cgroups = std::move(*opened);
      for (auto const& dir : cgroups->cleaned()) spdlog::info("start-up: removed the cgroup {} of a daemon that is gone", dir);
      invoker_opts.sandbox.cgroups = &*cgroups;
      if (invoker_opts.sandbox.enabled && invoker_opts.sandbox.freeze)
        if (auto pinned = cgroups->pin_freezer(); !pinned)
          spdlog::warn("sandbox: could not keep a frozen cgroup ({}): each freeze and thaw of an environment "
                       "rewrites kernel code on every CPU (cgroup v1's freezer key)",
                       pinned.error().message());
    } else {
      spdlog::warn("sandbox: cgroups unusable ({}): no memory or pids limit, Max Memory Used from /proc",
                   opened.error().message());
    }
  } else if (!opts.use_cgroups) {
    spdlog::warn("sandbox: --cgroups=false: no memory or pids limit, no freezing, Max Memory Used from /proc");
  }
  if (auto const& sb = invoker_opts.sandbox; sb.enabled && !(cgroups && cgroups->has("pids")))
    spdlog::warn("sandbox: no pids cgroup: processes are limited by RLIMIT_NPROC 1024 instead, a degraded fallback: "
                 "it counts every process of uid {} on this host, so all environments (of every daemon running "
                 "them as that uid) share one budget of 1024",
                 sb.rootless || !sb.identity ? ::getuid() : sb.identity->first);
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
  // Log lines go to disk once per handler, not once per line.
  log_store.set_flush_scheduler([&] { asio::post(ioc, [&] { log_store.flush(); }); });
  asio::thread_pool pool(opts.pool_threads);
  auto api_cfg = opts.api;
  api_cfg.runtimes = probe_runtimes(opts.runtime_interpreters, invoker_opts.sandbox.rootfs);
  for (auto const& line : runtimes::describe(api_cfg.runtimes)) spdlog::info("runtimes: {}", line);
  auto hot_reload = reload::parse_policy(opts.hot_reload_dirs, disk.root());
  if (!hot_reload) {
    spdlog::critical("{}", hot_reload.error().message());
    pool.join();
    return 2;
  }
  api_cfg.hot_reload = *hot_reload;
  spdlog::info("{}", reload::describe(*hot_reload));
  api::ControlPlane plane(api_cfg, disk, pool);
  plane.load(*loaded);
  if (auto& sb = invoker_opts.sandbox; sb.pool > 0) {
    if (!caps.detached_mounts) {
      spdlog::warn("sandbox: no pre-made sandboxes without mount_setattr (Linux 5.12): each is made at its cold start");
      sb.pool = 0;
    } else if (auto why = exec::ShellPool::unavailable(sb))
      spdlog::warn("sandbox: no pre-made sandboxes with {}: each is made at its cold start", *why);
    else
      spdlog::info("sandbox: {} pre-made sandbox(es) kept ready (namespaces, cgroup, root filesystem) for cold starts",
                   sb.pool);
  }
  exec::Invoker invoker(ioc, invoker_opts, &log_store);
  plane.set_invoker(&invoker);
  plane.set_logs(&log_store);
  reload::Watcher watcher(ioc);
  if (!watcher.error().empty())
    spdlog::warn("hot reload: changes cannot be watched ({}): a hot-reloaded function runs the code its environment "
                 "started with until it is updated",
                 watcher.error());
  plane.set_watcher(&watcher);
  struct Unwatch {
    api::ControlPlane& plane;
    ~Unwatch() { plane.set_watcher(nullptr); }
  } unwatch{plane};
  // The asynchronous queue: what it holds on disk runs again (a crash or a
  // restart loses no acknowledged event).
  events::Queue queue(ioc, pool, events::QueueStore(disk.root() / "events", disk.root() / "tmp"), invoker,
                      plane.event_hooks());
  queue.set_retry_delay(std::chrono::milliseconds(opts.api.event_retry_delay_ms));
  auto delivery = opts.api.destinations;
  delivery.region = opts.api.identity.region;
  queue.set_delivery(delivery);
  if (!delivery.endpoint_url.empty())
    spdlog::info("destinations: SQS, SNS and EventBridge targets are delivered to {}", delivery.endpoint_url);
  plane.set_queue(&queue);
  std::vector<std::string> queue_notes;
  auto requeued = queue.start(queue_notes);
  for (auto const& n : queue_notes) spdlog::warn("start-up: {}", n);
  if (!requeued) {
    spdlog::critical("event queue: {}", requeued.error().message());
    pool.join();
    return 1;
  }
  if (*requeued) spdlog::info("start-up: {} queued event invocation(s) found on disk: they run again", *requeued);

  http::Limits limits;
  limits.max_body_bytes = opts.max_body_bytes;
  limits.idle_timeout = opts.idle_timeout;
  limits.read_timeout = opts.read_timeout;
  http::Server server(ioc, plane, limits);
  // Socket activation (lambdad.socket, or systemd-socket-activate): the
  // listening socket systemd made replaces --listen.
  int passed = sd_listen_fds(1);
  if (passed > 1) {
    spdlog::critical("socket activation: {} sockets passed; lambdad serves exactly one", passed);
    pool.join();
    return 1;
  }
  if (passed == 1 && sd_is_socket_inet(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
    spdlog::critical("socket activation: the socket passed is not a listening TCP socket");
    pool.join();
    return 1;
  }
  auto bound = passed == 1 ? server.adopt(SD_LISTEN_FDS_START) : server.listen(*endpoint);
  if (passed == 1 && bound) spdlog::info("socket activation: serving the socket systemd passed; --listen is not used");
  if (!bound) {
    spdlog::critical("{}", bound.error().message());
    pool.join();
    return 1;
  }
  if (!bound->address().is_loopback())
    spdlog::warn("listening on {} which is not a loopback address: anyone who can reach it can deploy and run code",
                 bound->address().to_string());
  std::string where = bound->address().to_string() + ":" + std::to_string(bound->port());
  plane.set_function_env(function_env(opts, where));
  server.start();
  // Log streams past their retention: deleted at start, then hourly.
  asio::co_spawn(ioc, plane.expire_logs(std::chrono::minutes(60)), asio::detached);

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::signal_set hangup(ioc, SIGHUP);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping: no new connections or invocations; {} s for those in flight, then {} ms for "
                 "environments to end", sig, current.drain_timeout.count(), current.shutdown_grace.count());
    // Ask systemd for the time this takes (drain + grace + reaping), in case
    // it is more than the unit's TimeoutStopSec.
    auto need = std::chrono::duration_cast<std::chrono::microseconds>(current.drain_timeout + current.shutdown_grace +
                                                                       std::chrono::seconds(10));
    sd_notify(0, ("STOPPING=1\nSTATUS=stopping: draining in-flight requests and invocations\nEXTEND_TIMEOUT_USEC=" +
                  std::to_string(need.count())).c_str());
    server.stop();
    plane.stop_streams();
    queue.stop();
    invoker.begin_stop();
    hangup.cancel();
    asio::co_spawn(ioc, stop_all(&ioc, &server, &invoker, current.drain_timeout, current.shutdown_grace),
                   asio::detached);
  });
  // SIGHUP: the configuration read again; what can change while running is
  // applied, the rest is named as needing a restart.
  auto reload = [&] {
    if (!current.reread) return;
    sd_notify(0, "RELOADING=1");
    auto next = current.reread();
    if (!next) {
      spdlog::error("SIGHUP: configuration refused, nothing changed: {}", next.error().message());
      sd_notify(0, "READY=1");
      return;
    }
    for (auto const& w : next->config_warnings) spdlog::warn("configuration: {}", w);
    auto applied = apply_reload(current, *next, server, invoker, plane);
    sd_notify(0, "READY=1");
    spdlog::info("SIGHUP: {}", applied);
  };
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      reload();
      wait_hangup();
    });
  };
  wait_hangup();

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
  ioc.run();  // ends with stop_all()'s ioc.stop()
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
  std::printf("\nmanaged runtimes (interpreters in /usr/local/bin, /usr/bin, /bin; [runtimes] in the configuration "
              "file overrides):\n");
  for (auto const& line : runtimes::describe(probe_runtimes({}, ""))) std::printf("  %s\n", line.c_str());
  bool ok = caps.namespaces;
  std::printf("\n%s\n", !ok ? "functions cannot run here: lambdad needs namespaces (as root, or in a user namespace)"
                            : caps.root ? "functions can run here, fully isolated"
                                        : "functions can run here, rootless: no cgroup limits");
  return ok ? 0 : 1;
}

}  // namespace lambdad
