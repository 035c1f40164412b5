#include "process.hpp"
#include "seccomp.hpp"
#include "shared_clone.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <array>
#include <utility>

namespace lambdad::sandbox {

namespace {

struct ChildReport {
  int step;
  int err;
  int index;  // which mount op, for SpawnStep::Mount
};

// Where the child reports a failed step: the pipe, or (in the caller's
// memory, shared_clone) the parent's report itself.
struct Reporter {
  int fd = -1;
  ChildReport* shared = nullptr;
};

// Only async-signal-safe calls from here until exec: the parent may be
// multi-threaded, so the child has a copy of locks that may be held (or,
// sharing its memory, the locks themselves).
[[noreturn]] void child_fail(Reporter rep, SpawnStep step, int err, int index = -1) {
  ChildReport r{static_cast<int>(step), err, index};
  if (rep.shared) {
    *rep.shared = r;
  } else {
    ssize_t ignored = ::write(rep.fd, &r, sizeof r);
    (void)ignored;
  }
  ::_exit(127);
}


// Applies the mount ops; returns the index of the failed one, or -1.
// Bind sources are cloned (open_tree) before anything is mounted: a tmpfs on
// /var or /tmp may cover them later, and a mount fd survives that.
int apply_mounts(std::vector<MountOp> const& ops, int* tree_fds) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind != MountOp::Kind::BindRO) continue;
    long fd = ::syscall(SYS_open_tree, AT_FDCWD, ops[i].source.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
    if (fd < 0) return static_cast<int>(i);
    tree_fds[i] = static_cast<int>(fd);
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto const& op = ops[i];
    char const* target = op.target.c_str();
    long rc = 0;
    switch (op.kind) {
      case MountOp::Kind::Tmpfs:
        rc = ::mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, op.data.c_str());
        break;
      case MountOp::Kind::Mkdir:
        rc = ::mkdir(target, 0755);
        break;
      case MountOp::Kind::BindRO:
        rc = ::syscall(SYS_move_mount, tree_fds[i], "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
        if (rc == 0)
          rc = ::mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr);
        break;
      case MountOp::Kind::Overlay:
        rc = ::mount("overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, op.data.c_str());
        break;
      case MountOp::Kind::Proc:
        rc = ::mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
        break;
      case MountOp::Kind::Symlink:
        rc = ::symlink(op.data.c_str(), target);
        break;
      case MountOp::Kind::WriteFile:
      case MountOp::Kind::Touch: {
        int fd = ::open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
          rc = -1;
          break;
        }
        std::size_t done = 0;
        while (op.kind == MountOp::Kind::WriteFile && done < op.data.size() && rc == 0) {
          ssize_t n = ::write(fd, op.data.data() + done, op.data.size() - done);
          if (n < 0 && errno != EINTR) rc = -1;
          if (n > 0) done += static_cast<std::size_t>(n);
        }
        int saved = errno;
        ::close(fd);
        errno = saved;
        break;
      }
      case MountOp::Kind::BindDev:
        rc = ::mount(op.source.c_str(), target, nullptr, MS_BIND, nullptr);
        if (rc == 0) rc = ::mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, nullptr);
        break;
      case MountOp::Kind::RemountRO:
        rc = ::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr);
        break;
    }
    if (rc != 0) return static_cast<int>(i);
  }
  return -1;
}

// One byte and room for one descriptor (SCM_RIGHTS); no allocation, so the
// child may use it.
struct FdMessage {
  char byte = 'L';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  FdMessage(FdMessage const&) = delete;
  FdMessage& operator=(FdMessage const&) = delete;
};

// Loopback up, then a listener on 127.0.0.1:port sent back over `channel`.
// Async-signal-safe calls only.
int setup_network(int channel, std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  ::close(s);
  if (rc != 0) return err;
  if (channel < 0) return 0;
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) return errno;
  int one = 1;
  ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(l, 128) != 0) return errno;
  FdMessage m;
  msghdr& msg = m.msg;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &l, sizeof l);
  if (::sendmsg(channel, &msg, 0) != 1) return errno;
  ::close(l);
  return 0;
}

[[noreturn]] void child_main(SpawnSpec const& spec, char* const* argv, char* const* envp, int* tree_fds,
                             Reporter rep, std::array<char const*, 2> const* companion_argv, int sync_fd,
                             char* const* init_argv, sigset_t const* restore_mask) {
  int report_fd = rep.fd;
  // From the first instruction (the identity change clears it; set again below).
  if (spec.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sync_fd >= 0) {
    // Wait until the parent has written the user namespace's id maps.
    char go = 0;
    ssize_t n;
    do {
      n = ::read(sync_fd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) child_fail(rep, SpawnStep::UserNamespace, errno);
  }
  // Into its cgroups first, so that everything it does is accounted.
  for (int fd : spec.cgroup_fds) {
    if (::write(fd, "0", 1) != 1) child_fail(rep, SpawnStep::JoinCgroup, errno);
  }
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);  // before any mount may hide it
  if (devnull < 0) child_fail(rep, SpawnStep::OpenDevNull, errno);
  if (spec.new_uts_ns && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    child_fail(rep, SpawnStep::Hostname, errno);
  if (spec.new_net_ns) {
    if (int err = setup_network(spec.listener_channel, spec.listener_port); err != 0)
      child_fail(rep, SpawnStep::Network, err);
  }
  if (!spec.mounts.empty()) {
    // Nothing mounted here may propagate back to the host's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      child_fail(rep, SpawnStep::MakePrivate, errno);
    int failed = apply_mounts(spec.mounts, tree_fds);
    if (failed >= 0) child_fail(rep, SpawnStep::Mount, errno, failed);
  }
  if (!spec.new_root.empty()) {
    // pivot_root(".", ".") stacks the old root on the new one; detaching it
    // leaves only the new root (no directory for the old one needed).
    if (::chdir(spec.new_root.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
        ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0)
      child_fail(rep, SpawnStep::PivotRoot, errno);
  }
  int const want[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    int from = want[target] >= 0 ? want[target] : devnull;
    // dup2 onto itself would keep CLOEXEC set; dup3 refuses equal fds.
    if (from == target) {
      if (::fcntl(target, F_SETFD, 0) < 0) child_fail(rep, SpawnStep::Dup, errno);
    } else if (::dup2(from, target) < 0) {
      child_fail(rep, SpawnStep::Dup, errno);
    }
  }
  if (::chdir(spec.cwd.c_str()) != 0) child_fail(rep, SpawnStep::Chdir, errno);
  for (auto const& l : spec.rlimits) {
    rlimit r{static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)};
    if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &r) != 0) child_fail(rep, SpawnStep::Rlimit, errno);
  }
  if (spec.drop_capabilities) {
    // Numbered from 0 without a gap: the first EINVAL is past the last one.
    for (int cap = 0; cap < 64; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
      if (errno == EINVAL) break;
      child_fail(rep, SpawnStep::Capabilities, errno);
    }
  }
  if (spec.identity) {
    // Raw system calls: glibc's wrappers would try to change every thread of
    // the parent, which do not exist here.
    // In a user namespace setgroups is denied (and there are none to drop).
    if ((!spec.new_user_ns && ::syscall(SYS_setgroups, 0, nullptr) != 0) ||
        ::syscall(SYS_setresgid, spec.identity->gid, spec.identity->gid, spec.identity->gid) != 0 ||
        ::syscall(SYS_setresuid, spec.identity->uid, spec.identity->uid, spec.identity->uid) != 0)
      child_fail(rep, SpawnStep::Identity, errno);
  }
  if (spec.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail(rep, SpawnStep::NoNewPrivs, errno);
  // After the identity change, which would clear it; exec keeps it. A parent
  // that died before this would never signal: its end of the report pipe is
  // then closed, which poll() shows as POLLERR on ours.
  if (spec.die_with_parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(rep, SpawnStep::DeathSignal, errno);
    pollfd parent{report_fd, POLLOUT, 0};
    if (::poll(&parent, 1, 0) == 1 && (parent.revents & POLLERR)) ::_exit(127);
  }
  // Every inherited descriptor but 0-2 (and the init's status descriptor,
  // moved to 3) is closed on exec; the report pipe too, which is how the
  // parent learns that exec succeeded.
  int init_fd = spec.init_fd;
  if (init_fd >= 0) {
    if (report_fd == 3) report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 4);
    if (init_fd == 3) init_fd = ::fcntl(init_fd, F_DUPFD_CLOEXEC, 4);
    rep.fd = report_fd;
    if (report_fd < 0 || init_fd < 0 || ::dup2(spec.status_fd, 3) != 3) child_fail(rep, SpawnStep::Dup, errno);
  }
  if (::syscall(SYS_close_range, init_fd >= 0 ? 4u : 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
    child_fail(rep, SpawnStep::CloseFds, errno);
  if (spec.seccomp && install_filter(spec.seccomp) != 0) child_fail(rep, SpawnStep::Seccomp, errno);
  if (restore_mask) restore_signals(restore_mask);
  if (init_fd >= 0) {
    ::syscall(SYS_execveat, init_fd, "", init_argv, envp, AT_EMPTY_PATH);
    child_fail(rep, SpawnStep::Exec, errno);
  }
  for (std::size_t i = 0; i < spec.companions.size(); ++i) {
    // A plain fork by system call: no glibc fork handlers in this child.
    long pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) {
      char const* path = companion_argv[i][0];
      ::execve(path, const_cast<char* const*>(companion_argv[i].data()), envp);
      static char const msg[] = "lambdad: cannot execute extension ";
      ssize_t ignored = ::write(2, msg, sizeof msg - 1);
      ignored = ::write(2, path, ::strlen(path));
      ignored = ::write(2, "\n", 1);
      (void)ignored;
      ::_exit(127);
    }
  }
  ::execve(spec.path.c_str(), argv, envp);
  child_fail(rep, SpawnStep::Exec, errno);
}

std::vector<char*> c_array(std::vector<std::string> const& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto const& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string object_of(SpawnSpec const& spec, SpawnStep step, int index) {
  switch (step) {
    case SpawnStep::MakePrivate: return "`/` private";
    case SpawnStep::Mount:
      if (index >= 0 && static_cast<std::size_t>(index) < spec.mounts.size()) return "`" + spec.mounts[index].target + "`";
      return "?";
    case SpawnStep::OpenDevNull: return "`/dev/null`";
    case SpawnStep::PivotRoot: return "`" + spec.new_root + "`";
    case SpawnStep::Hostname: return "`" + spec.hostname + "`";
    case SpawnStep::JoinCgroup: return "the environment's cgroup";
    case SpawnStep::Rlimit: return "resource limits";
    case SpawnStep::Capabilities: return "the capability bounding set";
    case SpawnStep::Identity: return spec.identity ? "uid " + std::to_string(spec.identity->uid) : "?";
    case SpawnStep::NoNewPrivs: return "no_new_privs";
    case SpawnStep::Seccomp: return "the seccomp filter";
    case SpawnStep::DeathSignal: return "the parent-death signal";
    case SpawnStep::UserNamespace: return "the user namespace's id maps";
    case SpawnStep::Network: return "loopback and 127.0.0.1:" + std::to_string(spec.listener_port);
    case SpawnStep::Chdir: return "`" + spec.cwd + "`";
    case SpawnStep::Exec: return spec.init_fd >= 0 ? "lambdad-init for `" + spec.path + "`" : "`" + spec.path + "`";
    default: return "standard streams";
  }
}

}  // namespace

char const* to_string(SpawnStep step) {
  switch (step) {
    case SpawnStep::OpenDevNull: return "open";
    case SpawnStep::Dup: return "redirect";
    case SpawnStep::Chdir: return "chdir to";
    case SpawnStep::CloseFds: return "close inherited descriptors for";
    case SpawnStep::Exec: return "exec";
    case SpawnStep::MakePrivate: return "make";
    case SpawnStep::Mount: return "mount";
    case SpawnStep::JoinCgroup: return "join";
    case SpawnStep::PivotRoot: return "pivot_root into";
    case SpawnStep::Hostname: return "set the hostname";
    case SpawnStep::Rlimit: return "set";
    case SpawnStep::Capabilities: return "drop";
    case SpawnStep::Identity: return "become";
    case SpawnStep::NoNewPrivs: return "set";
    case SpawnStep::Network: return "set up";
    case SpawnStep::UserNamespace: return "wait for";
    case SpawnStep::DeathSignal: return "set";
    case SpawnStep::Seccomp: return "install";
  }
  return "?";
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), reaped_(o.reaped_) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    reaped_ = o.reaped_;
  }
  return *this;
}

Result<void> Child::signal(int sig) const {
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) != 0)
    return errno_error("signal process " + std::to_string(pid_));
  return {};
}

Result<ExitStatus> Child::wait() {
  for (;;) {
    auto r = try_wait();
    if (!r) return r.error();
    if (*r) return **r;
    // Block on the pidfd: it becomes readable when the child exits. (poll,
    // not a blocking waitid: the pidfd may be non-blocking, shared with an
    // event loop that watches it.)
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return errno_error("wait for process " + std::to_string(pid_));
  }
}

Result<std::optional<ExitStatus>> Child::try_wait() {
  if (reaped_) return errno_error("wait for process " + std::to_string(pid_), ECHILD);
  siginfo_t info{};
  struct rusage usage {};
  // The raw system call: glibc's waitid does not pass the rusage argument.
  if (::syscall(SYS_waitid, P_PIDFD, pidfd_.get(), &info, WEXITED | WNOHANG, &usage) != 0) {
    // A non-blocking pidfd answers EAGAIN while the process runs.
    if (errno == EAGAIN) return std::optional<ExitStatus>{};
    return errno_error("wait for process " + std::to_string(pid_));
  }
  if (info.si_pid == 0) return std::optional<ExitStatus>{};
  reaped_ = true;
  ExitStatus st;
  st.signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
  st.code = info.si_status;
  st.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  return std::optional<ExitStatus>{st};
}

namespace {

// What a child sharing the caller's memory starts from.
struct SharedChild {
  SpawnSpec const* spec;
  char* const* argv;
  char* const* envp;
  int* tree_fds;
  Reporter rep;
  int report_read;  // the parent's end: closed in the child, so that a dead daemon shows as POLLERR
  std::array<char const*, 2> const* companion_argv;
  char* const* init_argv;
  sigset_t const* mask;  // the spawning thread's, restored before exec
};

[[noreturn]] void shared_child_main(void* p) {
  auto* c = static_cast<SharedChild*>(p);
  ::syscall(SYS_close, c->report_read);  // the child's copy of the descriptor table
  child_main(*c->spec, c->argv, c->envp, c->tree_fds, c->rep, c->companion_argv, -1, c->init_argv, c->mask);
}


// The spawn in the caller's memory; nothing when it cannot be made so (no
// stack for it): then as a fork. The child reports a failed step into
// `failure` here; when clone3 returns it has exec'd or exited.
std::optional<Result<Child>> spawn_shared(SpawnSpec const& spec, clone_args& args, SharedChild& shared,
                                          int& pidfd) {
  ChildReport failure{};
  shared.rep.shared = &failure;
  // The identity change makes the memory it runs in (the daemon's)
  // non-dumpable: set back after.
  int dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  long pid = shared_clone(args, &shared_child_main, &shared);
  int err = errno;
  if (dumpable >= 0 && ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable)
    ::prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (pid < 0 && err == ENOSYS) return std::nullopt;
  if (pid < 0) return Result<Child>(errno_error("clone3 for `" + spec.path + "`", err));
  Child child(static_cast<pid_t>(pid), pidfd);
  if (failure.step == 0) return Result<Child>(std::move(child));
  (void)child.wait();
  auto step = static_cast<SpawnStep>(failure.step);
  return Result<Child>(errno_error(std::string(to_string(step)) + " " + object_of(spec, step, failure.index), failure.err));
}

}  // namespace

Result<Child> spawn(SpawnSpec const& spec) {
  if (spec.seccomp && !spec.no_new_privs)
    return plain_error("a seccomp filter needs no_new_privs (the child has no CAP_SYS_ADMIN to install it without)");
  // Everything the child needs is built before the clone: it may not allocate.
  auto argv = c_array(spec.argv);
  auto envp = c_array(spec.env);
  std::vector<std::array<char const*, 2>> companion_argv;
  for (auto const& c : spec.companions) companion_argv.push_back({c.c_str(), nullptr});
  // lambdad-init BOOTSTRAP [EXTENSION...], or -n N with the bootstrap's own
  // arguments (an interpreter and its script).
  std::vector<std::string> init_args = {"lambdad-init", spec.path};
  if (spec.argv.size() > 1) {
    init_args = {"lambdad-init", "-n", std::to_string(spec.argv.size()), spec.path};
    init_args.insert(init_args.end(), spec.argv.begin() + 1, spec.argv.end());
  }
  init_args.insert(init_args.end(), spec.companions.begin(), spec.companions.end());
  if (!spec.init_args.empty()) init_args = spec.init_args;
  auto init_argv = c_array(init_args);
  std::vector<int> tree_fds(spec.mounts.size(), -1);
  auto report = util::make_pipe(O_CLOEXEC);
  if (!report) return errno_error("create the spawn report pipe");

  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD;
  if (!spec.mounts.empty()) args.flags |= CLONE_NEWNS;
  if (spec.new_pid_ns) args.flags |= CLONE_NEWPID;
  if (spec.new_ipc_ns) args.flags |= CLONE_NEWIPC;
  if (spec.new_uts_ns) args.flags |= CLONE_NEWUTS;
  if (spec.new_net_ns) args.flags |= CLONE_NEWNET;
  util::FdPair sync;
  if (spec.new_user_ns) {
    args.flags |= CLONE_NEWUSER;
    auto made = util::make_pipe(O_CLOEXEC);
    if (!made) {
      int err = errno;
      return errno_error("create the user namespace sync pipe", err);
    }
    sync = std::move(*made);
  }
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (spec.cgroup_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<std::uint64_t>(spec.cgroup_dir_fd);
  }
  // Every signal blocked across the clone: a handler of the daemon's run in
  // the child (before it resets them) would act on the daemon's state, or
  // on its memory itself when shared. The child restores the mask at exec.
  SignalsBlocked blocked;
  // In the caller's memory where it can be; not with a user namespace (its
  // id maps are written while the child waits, and a shared clone's caller
  // waits for the child), nor for companions without lambdad-init (a fork
  // of the daemon's memory then, from the child).
  if (!spec.new_user_ns && !(spec.init_fd < 0 && !spec.companions.empty()) && can_share_memory()) {
    SharedChild shared{&spec, argv.data(), envp.data(), tree_fds.data(), {report->second.get(), nullptr},
                       report->first.get(), companion_argv.data(), init_argv.data(), &blocked.old};
    if (auto done = spawn_shared(spec, args, shared, pidfd)) return std::move(*done);
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    int err = errno;
    return errno_error("clone3 for `" + spec.path + "`", err);
  }
  if (pid == 0) {
    // The child never returns (no destructor runs in it): closed by hand.
    ::close(report->first.get());
    if (sync.second) ::close(sync.second.get());
    child_main(spec, argv.data(), envp.data(), tree_fds.data(), {report->second.get(), nullptr},
               companion_argv.data(), sync.first.get(), init_argv.data(), &blocked.old);
  }
  blocked.restore();
  report->second.reset();
  if (spec.new_user_ns) {
    sync.first.reset();
    // Map the caller's ids to the inner ones, then let the child go on.
    std::string proc = "/proc/" + std::to_string(pid);
    auto put = [](std::string const& path, std::string const& text) {
      util::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
    };
    bool mapped = put(proc + "/setgroups", "deny") &&
                  put(proc + "/uid_map", std::to_string(spec.inner_uid) + " " + std::to_string(::getuid()) + " 1\n") &&
                  put(proc + "/gid_map", std::to_string(spec.inner_gid) + " " + std::to_string(::getgid()) + " 1\n");
    int err = errno;
    if (mapped) (void)!::write(sync.second.get(), "g", 1);
    sync.second.reset();
    if (!mapped) {
      Child doomed(static_cast<pid_t>(pid), pidfd);
      (void)doomed.signal(SIGKILL);
      (void)doomed.wait();
      return errno_error("map ids in the user namespace of `" + spec.path + "`", err);
    }
  }
  Child child(static_cast<pid_t>(pid), pidfd);
  ChildReport r{};
  ssize_t n;
  do {
    n = ::read(report->first.get(), &r, sizeof r);
  } while (n < 0 && errno == EINTR);
  report->first.reset();
  if (n == 0) return child;  // EOF: exec succeeded
  (void)child.wait();        // the child exits 127 right after reporting
  if (n != static_cast<ssize_t>(sizeof r)) return plain_error("spawn `" + spec.path + "`: short report from child");
  auto step = static_cast<SpawnStep>(r.step);
  return errno_error(std::string(to_string(step)) + " " + object_of(spec, step, r.index), r.err);
}

Result<int> receive_listener(int channel) {
  FdMessage m;
  msghdr& msg = m.msg;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return errno_error("receive the Runtime API listener from the environment");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return plain_error("the environment sent no listener");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

}  // namespace lambdad::sandbox
