#include "probe.hpp"

#include "seccomp.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lambdad::sandbox {

namespace {

// 0 if a child can be cloned into `flags`, else the errno.
int try_clone(std::uint64_t flags) {
  clone_args args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(0);
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

bool has_filesystem(std::string const& name) {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.rfind('\t');
    if ((tab == std::string::npos ? line : line.substr(tab + 1)) == name) return true;
  }
  return false;
}

Feature seccomp_feature(std::shared_ptr<SeccompFilter const>& out) {
  if (!kernel_has_seccomp_filters())
    return {"seccomp filter", false, "this kernel applies no seccomp filters: environments run without one"};
  auto filter = SeccompFilter::build();
  if (!filter) return {"seccomp filter", false, filter.error().message() + ": environments run without one"};
  out = *filter;
  return {"seccomp filter", true,
          "every environment runs under one (" + std::to_string(out->size()) +
              " instructions): mounts, namespaces, keyrings, bpf, perf, ptrace, modules, personas and the host's "
              "administration refused with EPERM; --seccomp false turns it off"};
}

}  // namespace

Capabilities probe() {
  Capabilities c;
  c.root = ::geteuid() == 0;
  c.features.push_back({"root", c.root, c.root ? "running as root: every sandbox feature can be used"
                                               : "not root: rootless mode with user namespaces; no cgroups (no memory "
                                                 "or pids limit, no freezing)"});
  // As an ordinary user the namespaces come with a user namespace of their own.
  std::uint64_t userns = c.root ? 0 : CLONE_NEWUSER;
  int err = try_clone(userns | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS);
  c.namespaces = err == 0;
  c.features.push_back({"namespaces (mount, pid, ipc, uts)", c.namespaces,
                        c.namespaces ? "each environment gets its own"
                                     : std::string("cannot create them: ") + std::strerror(err) +
                                           "; lambdad refuses to run functions unless --no-sandbox"});
  err = try_clone(CLONE_NEWUSER);
  c.user_namespaces = err == 0;
  c.features.push_back({"user namespaces", c.user_namespaces,
                        c.user_namespaces ? (c.root ? "available (not needed as root)"
                                                    : "each environment gets one: the sandbox user maps to this one")
                                          : std::string("unavailable: ") + std::strerror(err)});
  c.overlayfs = has_filesystem("overlay");
  c.features.push_back({"overlayfs", c.overlayfs,
                        c.overlayfs ? "layers are merged at /opt by a read-only overlay"
                                    : "not in /proc/filesystems: functions with two or more layers cannot start"});
  // With no such system call ENOSYS; else a refusal of the bad descriptor.
  errno = 0;
  c.detached_mounts = ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) == 0 || errno != ENOSYS;
  c.features.push_back({"pre-made sandboxes", c.root && c.detached_mounts,
                        !c.detached_mounts ? "no mount_setattr (Linux 5.12): each sandbox is made at its cold start"
                        : c.root           ? "cold starts take a sandbox made before them (--sandbox-pool)"
                                           : "not as root: each sandbox is made at its cold start"});
  c.features.push_back(seccomp_feature(c.seccomp));
  c.cgroups = detect_cgroups();
  if (!c.root && c.cgroups.version > 0) {
    // The hierarchies are there, but creating cgroups in them needs root
    // (or a delegated v2 subtree, which lambdad does not look for).
    c.cgroups.notes.push_back("cgroups are mounted but not writable by this user: no cgroup is used");
    c.cgroups.version = 0;
    c.cgroups.controllers.clear();
  }
  std::string controllers;
  for (auto const& x : c.cgroups.controllers) controllers += (controllers.empty() ? "" : ", ") + x;
  std::string version = c.cgroups.version ? "v" + std::to_string(c.cgroups.version) : "none";
  c.features.push_back({"cgroups", c.cgroups.version > 0,
                        c.cgroups.version ? version + " (" + controllers + ")"
                                          : "no usable memory controller"});
  bool memory = c.cgroups.controllers.count("memory") > 0;
  c.features.push_back({"memory limit", memory,
                        memory ? "MemorySize is enforced (no swap); Max Memory Used is the cgroup's peak; an OOM kill "
                                 "is Runtime.OutOfMemory"
                               : "MemorySize is not enforced; Max Memory Used is measured from /proc"});
  bool pids = c.cgroups.controllers.count("pids") > 0;
  c.features.push_back({"pids limit", pids, pids ? "1024 processes per environment"
                                                 : "no per-environment process limit: RLIMIT_NPROC 1024 instead, a "
                                                   "degraded fallback shared by every process of the sandbox's uid "
                                                   "on this host"});
  bool freezer = c.cgroups.controllers.count("freezer") > 0;
  c.features.push_back({"freezer", freezer, freezer ? "idle environments are frozen between invokes"
                                                    : "idle environments keep running between invokes"});
  if (c.cgroups.version > 0)
    c.features.push_back({"start inside the cgroup", c.cgroups.version == 2,
                          c.cgroups.version == 2
                              ? "environments start inside their cgroup (clone3 CLONE_INTO_CGROUP): no move"
                              : "cgroup v1: each environment moves into its cgroups; after a quiet moment the move "
                                "waits for an RCU grace period (11 ms where measured): the cold-start tail"});
  for (auto const& note : c.cgroups.notes) c.features.push_back({"note", false, note});
  return c;
}

}  // namespace lambdad::sandbox
