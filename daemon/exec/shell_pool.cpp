#include "shell_pool.hpp"

#include "rootfs.hpp"

#include <spdlog/spdlog.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>

namespace lambdad::exec {

std::uint64_t environment_open_files() {
  // Lambda's 1024, or the daemon's own hard limit when that is lower (a child
  // cannot raise it; serve says so at start).
  static std::uint64_t const value = [] {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max >= 1024) return std::uint64_t{1024};
    return static_cast<std::uint64_t>(lim.rlim_max);
  }();
  return value;
}

void base_spec(SandboxOptions const& sb, sandbox::SpawnSpec& spec) {
  spec.die_with_parent = true;  // a daemon killed with -9 leaves no environment behind
  spec.new_pid_ns = true;
  spec.new_ipc_ns = true;
  spec.new_uts_ns = true;
  spec.hostname = sb.hostname;
  // Lambda's: 1024 open files, 1024 processes: pids.max, or RLIMIT_NPROC (a fallback: per uid on the host).
  spec.rlimits = {{RLIMIT_NOFILE, environment_open_files()}};
  if (!sb.cgroups || !sb.cgroups->has("pids")) spec.rlimits.push_back({RLIMIT_NPROC, 1024});
  if (sb.identity) spec.identity = sandbox::Identity{sb.identity->first, sb.identity->second};
  if (sb.rootless) {
    spec.new_user_ns = true;
    spec.inner_uid = sb.identity ? sb.identity->first : 0;
    spec.inner_gid = sb.identity ? sb.identity->second : 0;
  }
  spec.no_new_privs = true;
  spec.drop_capabilities = true;
  if (sb.filter) spec.seccomp = sb.filter->program();
  if (sb.pivot_root && sb.root_ops) spec.mounts = *sb.root_ops;
}

std::optional<std::string> ShellPool::unavailable(SandboxOptions const& sb) {
  if (!sb.enabled) return "--no-sandbox";
  if (sb.rootless) return "rootless mode (the daemon's detached mounts cannot enter a user namespace of its own)";
  if (!sb.pivot_root || !sb.root_ops) return "no root filesystem of its own (--pivot-root false)";
  if (sb.init_fd < 0) return "no lambdad-init";
  return std::nullopt;
}

ShellPool::ShellPool(SandboxOptions const& sb, std::size_t size) : sb_(sb) {
  if (size == 0 || unavailable(sb_)) return;
  size_ = size;
  worker_ = std::thread([this] { run(); });
}

ShellPool::~ShellPool() { stop(); }

void ShellPool::stop() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::deque<Shell> left;
  {
    std::lock_guard lock(m_);
    left.swap(ready_);
  }
  for (auto& shell : left) discard(shell, sb_.cgroups);
}

bool ShellPool::has_ready() {
  std::lock_guard lock(m_);
  return !ready_.empty();
}

std::optional<Shell> ShellPool::take() {
  for (;;) {
    std::optional<Shell> shell;
    {
      std::lock_guard lock(m_);
      if (ready_.empty()) return std::nullopt;
      shell.emplace(std::move(ready_.front()));
      ready_.pop_front();
    }
    wake_.notify_one();
    // One that ended meanwhile (killed from outside) is reaped and skipped.
    auto gone = shell->child.try_wait();
    if (gone && !*gone) return shell;
    discard(*shell, sb_.cgroups);
  }
}

void ShellPool::run() {
  std::unique_lock lock(m_);
  int failures = 0;
  while (!stopping_) {
    if (ready_.size() >= size_) {
      wake_.wait(lock);
      continue;
    }
    lock.unlock();
    auto shell = make();
    lock.lock();
    if (shell) {
      failures = 0;
      ready_.push_back(std::move(*shell));
      continue;
    }
    // Say it once per run of failures, and back off: each environment then
    // starts as it did without a pool.
    if (failures++ == 0) spdlog::warn("sandbox pool: could not make a shell: {}", shell.error().message());
    wake_.wait_for(lock, std::chrono::seconds(std::min(failures, 30)));
  }
}

Result<Shell> ShellPool::make() {
  static std::atomic<std::uint64_t> counter{0};
  Shell shell;
  sandbox::SpawnSpec spec;
  base_spec(sb_, spec);
  // lambdad-init does these once it has its order: the mounts need privileges.
  spec.identity.reset();
  spec.no_new_privs = false;
  spec.drop_capabilities = false;
  spec.seccomp = nullptr;
  spec.mounts.push_back(sandbox::finish_op(sb_.root_mount));
  spec.new_root = sb_.root_mount;
  spec.path = "lambdad-init";
  spec.argv = {spec.path};
  spec.init_fd = sb_.init_fd;
  spec.init_args = {"lambdad-init", "-w"};
  auto control = util::make_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC);
  if (!control) return errno_error("create a shell's order socket");
  spec.status_fd = control->second.get();  // its descriptor 3
  util::FdPair channel;
  if (sb_.isolated_network) {
    auto made = util::make_socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC);
    if (!made) return errno_error("create a shell's listener channel");
    channel = std::move(*made);
    spec.new_net_ns = true;
    spec.listener_channel = channel.second.get();
  }
  std::vector<util::Fd> join;
  util::Fd dir;
  if (sb_.cgroups && sb_.cgroups->version() > 0) {
    auto cg = sb_.cgroups->create("shell-" + std::to_string(++counter), {0, sb_.pids_max});
    if (!cg) return cg.error();
    shell.cgroup = std::move(*cg);
    if (auto opened = open_cgroup(shell, spec, dir, join); !opened) {
      sb_.cgroups->remove(shell.cgroup);
      return opened.error();
    }
  }
  auto child = sandbox::spawn(spec);
  // clone3's own refusal only (not a step in the child that failed).
  if (!child && dir && child.error().context.rfind("clone3", 0) == 0 &&
      (child.error().code == std::errc::argument_list_too_long || child.error().code == std::errc::invalid_argument)) {
    clone_into_cgroup_ = false;  // a kernel before 5.7: join by cgroup.procs from now on
    auto opened = shell.cgroup.open_join_files();
    if (opened) {
      spec.cgroup_dir_fd = -1;
      join = std::move(*opened);
      for (auto const& fd : join) spec.cgroup_fds.push_back(fd.get());
      child = sandbox::spawn(spec);
    }
  }
  if (!child) {
    if (!shell.cgroup.empty()) sb_.cgroups->remove(shell.cgroup);
    return child.error();
  }
  shell.child = std::move(*child);
  shell.control = std::move(control->first);
  if (channel.first) {
    auto listener = sandbox::receive_listener(channel.first.get());
    if (!listener) {
      discard(shell, sb_.cgroups);
      return listener.error();
    }
    shell.listener = util::Fd(*listener);
  }
  return shell;
}

Result<void> ShellPool::open_cgroup(Shell const& shell, sandbox::SpawnSpec& spec, util::Fd& dir,
                                    std::vector<util::Fd>& join) const {
  // v2: started inside it (no migration, which would hold up every fork of
  // the daemon meanwhile); otherwise it joins first thing.
  if (shell.cgroup.version() == 2 && clone_into_cgroup_) {
    auto opened = shell.cgroup.open_dir();
    if (!opened) return opened.error();
    dir = std::move(*opened);
    spec.cgroup_dir_fd = dir.get();
    return {};
  }
  auto opened = shell.cgroup.open_join_files();
  if (!opened) return opened.error();
  join = std::move(*opened);
  for (auto const& fd : join) spec.cgroup_fds.push_back(fd.get());
  return {};
}

void ShellPool::discard(Shell& shell, sandbox::Cgroups* cgroups) {
  // Its end of the socket closed, lambdad-init exits; kill in case it is
  // stuck, then reap.
  shell.control.reset();
  (void)shell.child.signal(SIGKILL);
  (void)shell.child.wait();
  if (cgroups && !shell.cgroup.empty()) cgroups->remove(shell.cgroup);
}

}  // namespace lambdad::exec
