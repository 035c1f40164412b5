// Spawning a process from a plain-data spec with clone3(CLONE_PIDFD): the
// parent gets a pidfd (no SIGCHLD handler, no pid-reuse race) and learns of a
// failed setup step in the child over a CLOEXEC pipe as (step, errno); EOF on
// that pipe means exec succeeded. Knows nothing of HTTP, JSON or Asio.
// Callable from any thread; the child runs only async-signal-safe code.
#pragma once

#include "util/fd.hpp"
#include "util/result.hpp"

#include <sys/types.h>

struct sock_fprog;

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::sandbox {

// Where the Runtime API listens inside an environment of its own network (Lambda's).
inline constexpr std::uint16_t kIsolatedRuntimeApiPort = 9001;

// One step of building the environment's filesystem, applied in order in
// the child's private mount namespace (after `/` is made private, so
// nothing propagates back to the host).
struct MountOp {
  enum class Kind {
    Tmpfs,      // mount a tmpfs at `target` with options `data` (e.g. "size=512m,mode=0755")
    Mkdir,      // create the directory `target` (inside a tmpfs mounted before)
    BindRO,     // bind `source` (a directory or a file) at `target`, then remount it read-only, nosuid, nodev
    Overlay,    // read-only overlayfs at `target`; `data` is "lowerdir=top:...:bottom"
    Proc,       // mount a proc filesystem at `target` (of the new pid namespace)
    Symlink,    // create the symlink `target` pointing to `data`
    WriteFile,  // create the file `target` holding `data` (mode 0644)
    Touch,      // create the empty file `target` (a mount point for a file bind)
    BindDev,    // bind the device node `source` at `target` (an existing file), nosuid, keeping dev
    RemountRO,  // remount the mount at `target` read-only (e.g. the new root once it is built)
  };
  Kind kind;
  std::string source;  // BindRO: resolved before any op is applied, so later mounts may cover it
  std::string target;
  std::string data;
};

// Who the program runs as: setgroups({}), then gid and uid (real, effective, saved).
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Rlimit {
  int resource;  // RLIMIT_NOFILE, ...
  std::uint64_t value;  // soft and hard
};

struct SpawnSpec {
  std::string path;               // absolute path of the program (as the child sees it)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "KEY=value", exactly what the program sees
  std::string cwd = "/";
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: /dev/null
  int stderr_fd = -1;  // -1: /dev/null
  bool new_pid_ns = false;       // the program is pid 1 of its own pid namespace
  // A user namespace of its own (rootless): the caller's uid and gid are
  // mapped to these inside (one id each, no supplementary groups), and the
  // child has every capability in it until it execs.
  bool new_user_ns = false;
  uid_t inner_uid = 0;
  gid_t inner_gid = 0;
  bool new_ipc_ns = false;
  bool new_uts_ns = false;       // with `hostname`
  std::string hostname;
  // Its own network namespace with only loopback, brought up. With
  // `listener_channel` (a unix socket), the child also listens on
  // 127.0.0.1:`listener_port` inside it and sends that socket back over
  // the channel (SCM_RIGHTS) before exec: the caller accepts on it.
  bool new_net_ns = false;
  int listener_channel = -1;
  std::uint16_t listener_port = kIsolatedRuntimeApiPort;
  std::vector<MountOp> mounts;   // non-empty: a private mount namespace built from these
  // Non-empty: after the mounts, this directory (a mount point built by
  // them) becomes `/` (pivot_root) and the old root is detached.
  std::string new_root;
  // Files the child writes "0" to before anything else, joining their
  // cgroups (v1: `tasks` of each hierarchy, see CgroupEnv::open_join_files).
  // Opened by the caller.
  std::vector<int> cgroup_fds;
  // Or a cgroup v2 directory (opened by the caller) to start the child in:
  // clone3's CLONE_INTO_CGROUP. A migration of a process (writing
  // cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for writing,
  // which waits for an RCU grace period unless another migration just
  // happened: ~9 ms on this machine after an idle moment. Starting inside
  // the cgroup takes it for reading only.
  int cgroup_dir_fd = -1;
  std::vector<Rlimit> rlimits;
  std::optional<Identity> identity;  // unset: stays who the caller is
  bool no_new_privs = false;
  // A system-call filter (sandbox/seccomp), installed as the last step
  // before exec; needs no_new_privs. Borrowed: it must outlive the spawn.
  sock_fprog const* seccomp = nullptr;
  // SIGKILL when the thread that spawned it ends (the daemon killed with -9).
  // As pid 1 of a pid namespace its end ends every process of it; without
  // one (--no-sandbox) only this process gets it.
  bool die_with_parent = false;
  bool drop_capabilities = false;    // empty the bounding set (the uid change empties the rest)
  // An init to run as the program instead (lambdad-init, opened O_PATH):
  // it is exec'd by descriptor as `lambdad-init PATH COMPANION...`, starts
  // them itself, reaps everything, and writes PATH's wait status to
  // `status_fd`, which it gets as descriptor 3.
  int init_fd = -1;
  int status_fd = -1;
  // Non-empty: the init's arguments exactly (argv[0] included), instead of
  // the ones made of `path`, `argv` and `companions` (a shell: -w).
  std::vector<std::string> init_args;
  // Started first, in this order, as children of the program, in the same
  // namespaces with the same environment, streams and cwd (Lambda's
  // external extensions). One that cannot be executed writes why to stderr
  // and exits 127; the program starts anyway.
  std::vector<std::string> companions;
};

// Where the child failed, reported with errno over the sync pipe.
enum class SpawnStep : int {
  OpenDevNull = 1,
  Dup = 2,
  Chdir = 3,
  CloseFds = 4,
  Exec = 5,
  MakePrivate = 6,
  Mount = 7,
  JoinCgroup = 8,
  PivotRoot = 9,
  Hostname = 10,
  Rlimit = 11,
  Capabilities = 12,
  Identity = 13,
  NoNewPrivs = 14,
  Network = 15,
  UserNamespace = 16,
  DeathSignal = 17,
  Seccomp = 18,
};
char const* to_string(SpawnStep step);

struct ExitStatus {
  bool signaled = false;
  int code = 0;  // exit status, or the signal number when signaled
  // Peak resident size of the largest process among the child and the
  // descendants it reaped (the kernel's rusage at exit, ru_maxrss).
  std::uint64_t max_rss_bytes = 0;
};

// A started child. Move-only; the destructor closes the pidfd (it never
// kills: ending a process is an explicit decision of its owner).
class Child {
 public:
  Child() = default;
  Child(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(Child const&) = delete;
  Child& operator=(Child const&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }  // readable once the child has exited
  // Sends a signal through the pidfd: never reaches a recycled pid.
  Result<void> signal(int sig) const;
  // Reaps the child; blocks until it exits.
  Result<ExitStatus> wait();
  // Reaps the child if it has exited; std::nullopt while it runs.
  Result<std::optional<ExitStatus>> try_wait();

 private:
  pid_t pid_ = -1;
  util::Fd pidfd_;
  bool reaped_ = false;
};

// Starts the program. On a failure in the child, the error names the step
// and the object ("exec `/var/task/bootstrap`: Permission denied",
// "mount `/var/task`: No such file or directory").
Result<Child> spawn(SpawnSpec const& spec);
// The listening socket a child made in its network namespace (see
// SpawnSpec::listener_channel); call after spawn succeeded.
Result<int> receive_listener(int channel);

}  // namespace lambdad::sandbox
