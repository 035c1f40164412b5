#include "environment.hpp"
#include "util/use_tuple.hpp"

#include "logs/format.hpp"
#include "logs/platform.hpp"
#include "logs/store.hpp"
#include "launch.hpp"
#include "proc_tree.hpp"
#include "shell_pool.hpp"
#include "rootfs.hpp"
#include "util/crypto.hpp"
#include "util/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <variant>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lambdad::exec {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using runtime_api::EnvEvent;
using runtime_api::EnvState;
using util::use_tuple;

namespace {

std::string log_group_of(FunctionImage const& fn) {
  return fn.log.group.empty() ? "/aws/lambda/" + fn.name : fn.log.group;
}

// The variables of a provided.* runtime (AWS Lambda developer guide,
// "Defined runtime environment variables"), then the function's own.
std::vector<std::string> environment_of(FunctionImage const& fn, std::string const& api, std::string const& stream) {
  std::map<std::string, std::string> v = {
      {"_HANDLER", fn.handler},
      {"AWS_REGION", fn.region},
      {"AWS_DEFAULT_REGION", fn.region},
      {"AWS_LAMBDA_FUNCTION_NAME", fn.name},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(fn.memory_mb)},
      {"AWS_LAMBDA_FUNCTION_VERSION", fn.version},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
      {"AWS_LAMBDA_LOG_GROUP_NAME", log_group_of(fn)},
      {"AWS_LAMBDA_LOG_STREAM_NAME", stream},
      {"AWS_LAMBDA_RUNTIME_API", api},
      {"LAMBDA_TASK_ROOT", "/var/task"},
      {"LAMBDA_RUNTIME_DIR", "/var/runtime"},
      {"TZ", ":UTC"},
      {"LANG", "en_US.UTF-8"},
      {"PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"},
      {"LD_LIBRARY_PATH", "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"},
  };
  // LoggingConfig's JSON format, for the runtime clients that write it.
  if (fn.log.json) {
    v["AWS_LAMBDA_LOG_FORMAT"] = "JSON";
    v["AWS_LAMBDA_LOG_LEVEL"] = fn.log.application_level;
  }
  // AWS_EXECUTION_ENV and the rest only for a managed runtime ("not
  // defined for OS-only runtimes"); then the daemon's (credentials,
  // endpoints), then the function's own.
  if (fn.managed)
    for (auto const& [k, val] : fn.managed->env) v[k] = val;
  for (auto const& [k, val] : fn.base_env) v[k] = val;
  for (auto const& [k, val] : fn.env) v[k] = val;
  std::vector<std::string> out;
  for (auto const& [k, val] : v) out.push_back(k + "=" + val);
  return out;
}

}  // namespace

Environment::Environment(asio::io_context& ioc, FunctionImage fn, logs::LogStore* logs, SandboxOptions const& sb)
    : ioc_(ioc),
      fn_(std::move(fn)),
      sb_(sb),
      logs_(logs),
      log_key_(logs::group_key(log_group_of(fn_))),
      stream_(logs::log_stream_name(std::chrono::system_clock::now(), fn_.version,
                                    fn_.log.group.empty() ? "" : fn_.name)),
      endpoint_(std::make_shared<runtime_api::Endpoint>(ioc)),
      out_(ioc),
      pidfd_(ioc),
      splitter_([this](std::string_view line) {
        if (!logs::Platform(fn_.log).keeps(line)) return;  // below ApplicationLogLevel
        captured_.append(line);
        captured_.push_back('\n');
        if (logs_) logs_->append(log_key_, stream_, line);
      }) {}

Environment::~Environment() {
  if (logs_) logs_->close_stream(log_key_, stream_);
  if (sb_.cgroups && !cgroup_.empty()) sb_.cgroups->remove(cgroup_);
}

bool Environment::owns_connection(std::uint16_t peer_port) const {
  if (child_.pid() <= 0 || exit_status_) return false;
  auto inode = tcp_socket_inode(peer_port, endpoint_->port());
  if (!inode) return false;
  std::string want = "socket:[" + std::to_string(*inode) + "]";
  std::vector<std::string> pids;
  tree_pids(std::to_string(child_.pid()), pids, 0);
  char target[64];
  for (auto const& pid : pids) {
    std::error_code ec;
    for (auto const& fd : fs::directory_iterator("/proc/" + pid + "/fd", ec)) {
      ssize_t n = ::readlink(fd.path().c_str(), target, sizeof target - 1);
      if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == want) return true;
    }
  }
  return false;
}

bool Environment::out_of_memory() const { return !cgroup_.empty() && cgroup_.oom_kills() > 0; }

void Environment::freeze(bool frozen) {
  if (frozen == frozen_ || !sb_.freeze || !cgroup_.can_freeze()) return;
  if (auto r = cgroup_.freeze(frozen); !r) {
    spdlog::warn("function {}: {} the environment: {}", fn_.name, frozen ? "freezing" : "thawing", r.error().message());
    return;
  }
  frozen_ = frozen;
}

// A platform line ("" when the LoggingConfig leaves it out: not written).
void Environment::log_line(std::string_view line) {
  if (logs_ && !line.empty()) logs_->append(log_key_, stream_, line);
}

void Environment::log_pending_start() {
  if (pending_start.empty()) return;
  drain_pipe();  // the init output comes first
  log_line(std::exchange(pending_start, {}));
}

void Environment::platform_line(std::string_view line) {
  drain_pipe();  // what the runtime wrote before comes first
  captured_.append(line);
  captured_.push_back('\n');
  log_line(line);
}

bool Environment::apply(EnvEvent e) {
  auto next = runtime_api::transition(state_, e);
  if (!next) {
    spdlog::warn("function {}: environment refused {} in state {}", fn_.name, runtime_api::to_string(e),
                 runtime_api::to_string(state_));
    return false;
  }
  state_ = *next;
  return true;
}

// What a start holds until the environment takes it over. Each descriptor
// closes itself when a step fails; the spec only borrows them.
struct Environment::StartFds {
  util::Fd out_read, out_write;        // the runtime's stdout and stderr
  util::Fd status_read, status_write;  // lambdad-init reports the bootstrap's wait status
  util::Fd channel, channel_child;     // the isolated network's listener comes back on it
  util::Fd cgroup_dir;                 // v2: the child starts inside it
  std::vector<util::Fd> cgroup_join;   // otherwise: it joins by writing to these
};

std::optional<StartFailure> Environment::start() {
  auto began = std::chrono::steady_clock::now();
  auto failed = [this](StartFailure f) {
    apply(EnvEvent::SpawnFailed);
    return std::optional<StartFailure>(std::move(f));
  };
  auto found = launch_of(fn_);
  if (auto const* failure = std::get_if<StartFailure>(&found)) return failed(*failure);
  // Isolated: the listener is made inside the environment's network
  // namespace at spawn; host: a free loopback port here.
  bool isolated = sb_.enabled && sb_.isolated_network;
  auto api = isolated ? "127.0.0.1:" + std::to_string(sandbox::kIsolatedRuntimeApiPort) : endpoint_->listen();
  if (!api) return failed({"Runtime.Unknown", "could not open a Runtime API listener on 127.0.0.1"});
  auto spec = make_spec(std::get<Launch>(found), *api);
  if (sb_.shells && sb_.shells->has_ready())
    if (auto prepared = prepare_shell_start(spec))
      if (auto shell = sb_.shells->take(); shell && start_in_shell(*shell, *prepared, isolated, began))
        return std::nullopt;
  StartFds fds;
  if (auto failure = acquire(spec, fds, isolated)) return failed(std::move(*failure));
  spawned_at_ = std::chrono::steady_clock::now();
  if (auto failure = spawn_child(spec, fds)) return failed(std::move(*failure));
  using fms = std::chrono::duration<double, std::milli>;
  spdlog::debug("function {}: environment started in {:.3f} ms: prepare {:.3f} ms (cgroup, spec), spawn {:.3f} ms "
                "(namespaces, mounts, pivot_root, identity, exec)",
                fn_.name, fms(std::chrono::steady_clock::now() - began).count(), fms(spawned_at_ - began).count(),
                fms(std::chrono::steady_clock::now() - spawned_at_).count());
  wire(std::move(fds.out_read), isolated);
  return std::nullopt;
}

sandbox::SpawnSpec Environment::make_spec(Launch const& launch, std::string const& api) const {
  sandbox::SpawnSpec spec;
  spec.die_with_parent = true;  // a daemon killed with -9 leaves no environment behind (also in base_spec)
  // External extensions: the executables in /opt/extensions as the merged
  // /opt shows them (a later layer's file of the same name wins), started
  // in name order before the runtime.
  std::map<std::string, std::string> extensions;
  for (auto const& tree : fn_.layer_trees) {
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator(tree / "extensions", ec)) {
      if (executable_file(entry.path()) && has_exec_bit(entry.path()))
        extensions[entry.path().filename().string()] = "/opt/extensions/" + entry.path().filename().string();
    }
  }
  for (auto const& [name, in_sandbox] : extensions) spec.companions.push_back(in_sandbox);
  endpoint_->expect_extensions(extensions.size());
  endpoint_->set_function_info({fn_.name, fn_.version, fn_.handler, fn_.account});
  spec.path = launch.path;
  spec.argv = launch.argv;
  spec.env = environment_of(fn_, api, stream_);
  spec.cwd = "/var/task";
  if (!sb_.enabled) {
    // Plain process: the bootstrap and its code where they are on the host.
    spec.path = launch.host_path;
    spec.argv = launch.host_argv;
    spec.cwd = fn_.code_tree.string();
    for (auto& v : spec.env)
      if (v.rfind("LAMBDA_TASK_ROOT=", 0) == 0) v = "LAMBDA_TASK_ROOT=" + fn_.code_tree.string();
    spec.companions.clear();
  }
  build_sandbox(spec);
  return spec;
}

std::optional<StartFailure> Environment::acquire(sandbox::SpawnSpec& spec, StartFds& fds, bool isolated) {
  auto out = util::make_pipe(O_CLOEXEC);
  if (!out) return StartFailure{"Runtime.Unknown", "could not create the output pipe"};
  fds.out_read = std::move(out->first);
  fds.out_write = std::move(out->second);
  spec.stdout_fd = spec.stderr_fd = fds.out_write.get();
  if (sb_.enabled && sb_.cgroups && sb_.cgroups->version() > 0) {
    sandbox::CgroupLimits limits{static_cast<std::uint64_t>(fn_.memory_mb) << 20, sb_.pids_max};
    auto cg = sb_.cgroups->create("env-" + std::to_string(++counter_), limits);
    if (!cg) return StartFailure{"Runtime.Unknown", "could not create the environment's cgroup: " + cg.error().message()};
    cgroup_ = std::move(*cg);
    // On v2 the child starts inside it (see SpawnSpec::cgroup_dir_fd);
    // otherwise, or where the kernel cannot, it joins first thing.
    if (auto opened = open_cgroup(spec, fds); !opened)  // never run outside its limits
      return StartFailure{"Runtime.Unknown", "could not open the environment's cgroup: " + opened.error().message()};
  }
  if (sb_.enabled && sb_.init_fd >= 0) {
    if (auto status = util::make_pipe(O_CLOEXEC | O_NONBLOCK)) {
      fds.status_read = std::move(status->first);
      fds.status_write = std::move(status->second);
      spec.init_fd = sb_.init_fd;
      spec.status_fd = fds.status_write.get();
    }
  }
  if (isolated) {
    auto channel = util::make_socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC);
    if (!channel) return StartFailure{"Runtime.Unknown", "could not create the listener channel"};
    fds.channel = std::move(channel->first);
    fds.channel_child = std::move(channel->second);
    spec.new_net_ns = true;
    spec.listener_channel = fds.channel_child.get();
  }
  return std::nullopt;
}

Result<void> Environment::open_cgroup(sandbox::SpawnSpec& spec, StartFds& fds) const {
  spec.cgroup_dir_fd = -1;
  spec.cgroup_fds.clear();
  fds.cgroup_dir.reset();
  fds.cgroup_join.clear();
  if (cgroup_.version() == 2 && clone_into_cgroup_) {
    auto dir = cgroup_.open_dir();
    if (!dir) return dir.error();
    fds.cgroup_dir = std::move(*dir);
    spec.cgroup_dir_fd = fds.cgroup_dir.get();
    return {};
  }
  auto join = cgroup_.open_join_files();
  if (!join) return join.error();
  fds.cgroup_join = std::move(*join);
  for (auto const& fd : fds.cgroup_join) spec.cgroup_fds.push_back(fd.get());
  return {};
}

std::optional<StartFailure> Environment::spawn_child(sandbox::SpawnSpec& spec, StartFds& fds) {
  auto child = sandbox::spawn(spec);
  if (!child && spec.cgroup_dir_fd >= 0 &&
      (child.error().code == std::errc::argument_list_too_long || child.error().code == std::errc::invalid_argument)) {
    // A kernel before 5.7: no CLONE_INTO_CGROUP. Join by cgroup.procs from now on.
    spdlog::warn("function {}: clone3 cannot start a process inside its cgroup here ({}); environments move into "
                 "theirs instead", fn_.name, child.error().message());
    clone_into_cgroup_ = false;
    if (open_cgroup(spec, fds)) child = sandbox::spawn(spec);
  }
  // The child's ends are its own now (or nobody's).
  fds.out_write.reset();
  fds.cgroup_join.clear();
  fds.cgroup_dir.reset();
  fds.channel_child.reset();
  fds.status_write.reset();
  status_fd_ = std::move(fds.status_read);
  if (!child) return StartFailure{"Runtime.InvalidEntrypoint", child.error().message()};
  if (fds.channel) {
    auto listener = sandbox::receive_listener(fds.channel.get());
    util::Fd held(listener ? *listener : -1);
    if (!listener || !endpoint_->adopt(held.get())) {
      (void)child->signal(SIGKILL);
      (void)child->wait();
      return StartFailure{"Runtime.Unknown", listener ? "could not serve the Runtime API" : listener.error().message()};
    }
    (void)held.release();  // the endpoint's now
  }
  child_ = std::move(*child);
  return std::nullopt;
}

void Environment::wire(util::Fd out, bool isolated) {
  ::fcntl(out.get(), F_SETFL, O_NONBLOCK);
  out_.assign(out.release());
  pidfd_.assign(::dup(child_.pidfd()));
  apply(EnvEvent::Spawned);
  auto self = shared_from_this();
  // The endpoint may outlive this environment (a runtime still connected).
  endpoint_->on_first_next = [w = weak_from_this()] {
    auto env = w.lock();
    if (!env) return;
    env->first_next_at_ = std::chrono::steady_clock::now();
    env->apply(EnvEvent::FirstNext);
    for (auto const& ext : env->endpoint_->extensions()) {
      std::string events = ext.invoke && ext.shutdown ? "INVOKE,SHUTDOWN" : ext.invoke ? "INVOKE" : ext.shutdown ? "SHUTDOWN" : "";
      env->platform_line("EXTENSION\tName: " + ext.name + "\tState: Ready\tEvents: [" + events + "]");
    }
    // The invocation that started it is handed over by this same /next.
    env->log_pending_start();
    if (env->claimed) env->apply(EnvEvent::Dispatch);
  };
  // A runtime that reports an init error is expected to exit; one that does
  // not is ended after a short grace, so its last lines still reach the log.
  endpoint_->on_init_error = [w = weak_from_this()](std::string type, std::string body) {
    auto env = w.lock();
    if (!env || env->init_error_) return;
    env->init_error_ = InitError{std::move(type), std::move(body), std::chrono::steady_clock::now()};
    auto timer = std::make_shared<asio::steady_timer>(env->ioc_, std::chrono::milliseconds(500));
    timer->async_wait([self = w, timer](boost::system::error_code ec) {
      if (auto env = self.lock(); env && !ec) env->kill();
    });
  };
  if (!isolated && sb_.enabled) {
    // On the host's network other environments could reach this Runtime
    // API: only this environment's own processes are served.
    endpoint_->accept_filter = [w = weak_from_this()](std::uint16_t peer_port) {
      auto env = w.lock();
      if (env && env->owns_connection(peer_port)) return true;
      if (env) spdlog::warn("function {}: a connection to its Runtime API from outside its environment was refused",
                            env->fn_.name);
      return false;
    };
  }
  endpoint_->start();
  asio::co_spawn(ioc_, read_output(self), asio::detached);
  asio::co_spawn(ioc_, watch_exit(self), asio::detached);
}

asio::awaitable<void> Environment::read_output([[maybe_unused]] std::shared_ptr<Environment> self) {
  // Wait for readiness, then read here: data is never held in a completed
  // read that has not run yet, so take_output's drain cannot overtake it
  // and put lines after END.
  for (;;) {
    auto [ec] = co_await out_.async_wait(asio::posix::descriptor_base::wait_read, use_tuple);
    if (ec) break;
    if (!drain_pipe()) break;
  }
  splitter_.flush();
}

asio::awaitable<void> Environment::watch_exit([[maybe_unused]] std::shared_ptr<Environment> self) {
  // A pidfd becomes readable when the process exits.
  [[maybe_unused]] auto [ec] = co_await pidfd_.async_wait(asio::posix::descriptor_base::wait_read, use_tuple);
  if (ec) co_return;
  auto st = child_.try_wait();
  if (st && *st) exit_status_ = **st;
  // Under lambdad-init, the bootstrap's own status (init exits 0 after it).
  int raw = 0;
  if (exit_status_ && status_fd_ && ::read(status_fd_.get(), &raw, sizeof raw) == sizeof raw) {
    exit_status_->signaled = WIFSIGNALED(raw);
    exit_status_->code = WIFSIGNALED(raw) ? WTERMSIG(raw) : WEXITSTATUS(raw);
  }
  drain_pipe();
  if (state_ != EnvState::Dead) apply(EnvEvent::Exited);
  endpoint_->abort(runtime_api::Outcome::Kind::Aborted);
  endpoint_->close();
}

bool Environment::drain_pipe() {
  if (!out_.is_open()) return false;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(out_.native_handle(), buf, sizeof buf);
    if (n > 0) {
      splitter_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // false at end of file or on an error
  }
}

std::string Environment::take_output() {
  drain_pipe();
  if (exit_status_) splitter_.flush();
  return std::exchange(captured_, {});
}

std::optional<std::uint64_t> Environment::peak_memory_bytes() const {
  // The cgroup's peak: the whole environment, even processes already gone.
  if (!cgroup_.empty())
    if (auto peak = cgroup_.peak_memory()) return peak;
  // Gone: what the kernel reported for the largest process at exit.
  if (exit_status_) return exit_status_->max_rss_bytes ? std::optional(exit_status_->max_rss_bytes) : std::nullopt;
  if (child_.pid() <= 0) return std::nullopt;
  std::uint64_t total = 0;
  std::vector<std::string> pids;
  tree_pids(std::to_string(child_.pid()), pids, 0);
  for (auto const& pid : pids) total += vm_hwm_bytes(pid);
  if (total == 0) return std::nullopt;
  return total;
}

void Environment::kill() {
  freeze(false);  // a frozen process (cgroup v1) does not die until thawed
  if (child_.pid() > 0 && !exit_status_) (void)child_.signal(SIGKILL);
}

void Environment::terminate() {
  freeze(false);
  if (child_.pid() > 0 && !exit_status_) (void)child_.signal(SIGTERM);
}

void Environment::reap_now() {
  if (child_.pid() <= 0 || exit_status_) return;
  freeze(false);
  (void)child_.signal(SIGKILL);
  auto st = child_.wait();
  if (st) exit_status_ = *st;
  else spdlog::warn("function {}: reaping pid {}: {}", fn_.name, child_.pid(), st.error().message());
  boost::system::error_code ec;
  pidfd_.cancel(ec);
  out_.cancel(ec);
  endpoint_->close();
}

}  // namespace lambdad::exec
