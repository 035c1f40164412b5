// The seccomp filter (sandbox/seccomp): each refused call answers EPERM (clone3
// ENOSYS) in a child that installed it after no_new_privs; the calls any
// runtime makes still work; spawn() installs it last and refuses it without
// no_new_privs. Each check runs in a forked child, so the test process itself
// stays unfiltered.
#include <doctest/doctest.h>

#include "process.hpp"
#include "seccomp.hpp"

#include <linux/keyctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace lambdad::sandbox;

namespace {

std::shared_ptr<SeccompFilter const> filter() {
  static auto built = SeccompFilter::build();
  REQUIRE_MESSAGE(built.has_value(), (built ? "" : built.error().message()));
  return *built;
}

// Runs `call` in a child under the filter; returns the errno it left (0 for
// success), or -1000 - signal if the child died of one.
int errno_under_filter(std::function<long()> const& call) {
  auto f = filter();
  int p[2];
  REQUIRE(::pipe(p) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[0]);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install_filter(f->program()) != 0) ::_exit(90);
    errno = 0;
    long rc = call();
    int e = rc < 0 ? errno : 0;
    (void)!::write(p[1], &e, sizeof e);
    ::_exit(0);
  }
  ::close(p[1]);
  int e = -1;
  ssize_t n = ::read(p[0], &e, sizeof e);
  ::close(p[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status)) return -1000 - WTERMSIG(status);
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(n == sizeof e);
  return e;
}

long sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return ::syscall(nr, a, b, c, d, e);
}

}  // namespace

TEST_CASE("the filter builds, small enough for a shell's order") {
  if (!kernel_has_seccomp_filters()) return;  // nothing to install it on
  auto f = filter();
  CHECK(f->size() > 10);
  CHECK(f->size() < 1024);
  CHECK(f->program()->len == f->size());
}

TEST_CASE("refused: new namespaces, mounts, keyrings, bpf, perf, ptrace, modules, personas") {
  if (!kernel_has_seccomp_filters()) return;
  CHECK(errno_under_filter([] { return sys(SYS_unshare, CLONE_NEWUSER); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_unshare, CLONE_NEWNS); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_setns, 0, 0); }) == EPERM);
  // clone into a new user namespace: refused before any child is made.
  CHECK(errno_under_filter([] { return sys(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_clone3, 0, 0); }) == ENOSYS);
  CHECK(errno_under_filter([] { return sys(SYS_mount, (long)"none", (long)"/mnt", (long)"tmpfs", 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_umount2, (long)"/", 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_pivot_root, (long)".", (long)"."); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_chroot, (long)"/"); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); }) ==
        EPERM);
  CHECK(errno_under_filter([] {
          return sys(SYS_add_key, (long)"user", (long)"k", (long)"v", 1, KEY_SPEC_PROCESS_KEYRING);
        }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_bpf, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_perf_event_open, 0, 0, -1, -1, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_userfaultfd, 1); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_ptrace, PTRACE_ATTACH, 1, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_process_vm_readv, 1, 0, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_init_module, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_kexec_load, 0, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_reboot, 0, 0, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_syslog, 3, 0, 0); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_personality, ADDR_NO_RANDOMIZE); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_personality, READ_IMPLIES_EXEC); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_personality, 0x80000000L); }) == EPERM);
  CHECK(errno_under_filter([] { return sys(SYS_personality, 0xfffffffeL); }) == EPERM);
}

TEST_CASE("allowed: what runtimes call") {
  if (!kernel_has_seccomp_filters()) return;
  CHECK(errno_under_filter([] { return sys(SYS_getpid); }) == 0);
  // The personas Docker leaves: the query, Linux, UNAME26, and their 32-bit.
  CHECK(errno_under_filter([] { return sys(SYS_personality, 0xffffffffL); }) == 0);
  CHECK(errno_under_filter([] { return sys(SYS_personality, PER_LINUX); }) == 0);
  CHECK(errno_under_filter([] { return sys(SYS_personality, UNAME26); }) == 0);
  CHECK(errno_under_filter([] { return sys(SYS_personality, PER_LINUX32); }) == 0);
  // fork and threads: clone without namespace flags.
  CHECK(errno_under_filter([] {
          pid_t c = ::fork();
          if (c == 0) ::_exit(7);
          int st = 0;
          if (c < 0 || ::waitpid(c, &st, 0) != c || WEXITSTATUS(st) != 7) return -1L;
          return 0L;
        }) == 0);
  // Threads: glibc tries clone3 first, gets ENOSYS, and falls back to clone
  // with CLONE_THREAD, which passes.
  CHECK(errno_under_filter([] {
          int v = 0;
          std::thread t([&] { v = 5; });
          t.join();
          return v == 5 ? 0L : -1L;
        }) == 0);
  // posix_spawn (Python's subprocess and Node's child_process use it): the
  // same fallback, with CLONE_VM | CLONE_VFORK.
  CHECK(errno_under_filter([] {
          pid_t c = 0;
          char arg0[] = "true";
          char* argv[] = {arg0, nullptr};
          if (::posix_spawn(&c, "/bin/true", nullptr, nullptr, argv, nullptr) != 0) return -1L;
          int st = 0;
          return ::waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0L : -1L;
        }) == 0);
  CHECK(errno_under_filter([] {
          int fds[2];
          return (long)::pipe(fds);
        }) == 0);
}

#if defined(__x86_64__)
// The 32-bit ABI (int $0x80) reaches the same rules instead of passing them
// by or killing the process: 310 is i386's unshare, 136 its personality.
static long int80(long nr, long a) {
  long rc;
  asm volatile("int $0x80" : "=a"(rc) : "a"(nr), "b"(a) : "memory");
  if (rc < 0 && rc > -4096) {
    errno = static_cast<int>(-rc);
    return -1;
  }
  return rc;
}

TEST_CASE("the 32-bit ABI is filtered too") {
  if (!kernel_has_seccomp_filters()) return;
  // A kernel without IA32 emulation answers ENOSYS (or kills with SIGSEGV)
  // with or without a filter: then there is nothing to check.
  pid_t c = ::fork();
  if (c == 0) ::_exit(int80(20, 0) > 0 ? 0 : 1);  // i386 getpid
  int st = 0;
  REQUIRE(::waitpid(c, &st, 0) == c);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    MESSAGE("skipped: this kernel runs no 32-bit system calls");
    return;
  }
  CHECK(errno_under_filter([] { return int80(310, CLONE_NEWUSER); }) == EPERM);
  CHECK(errno_under_filter([] { return int80(136, ADDR_NO_RANDOMIZE); }) == EPERM);
  CHECK(errno_under_filter([] { return int80(20, 0); }) == 0);
}
#endif

TEST_CASE("spawn installs it last, and only after no_new_privs") {
  if (!kernel_has_seccomp_filters()) return;
  SpawnSpec s;
  s.path = "/bin/sh";
  // unshare(1) from util-linux: a published tool asking for a user namespace.
  s.argv = {"sh", "-c", "unshare --user true 2>/dev/null && exit 3; exit 0"};
  s.env = {"PATH=/usr/bin:/bin"};
  s.seccomp = filter()->program();
  SUBCASE("refused without no_new_privs") {
    auto child = spawn(s);
    REQUIRE_FALSE(child.has_value());
    CHECK(child.error().message().find("no_new_privs") != std::string::npos);
  }
  SUBCASE("the child's unshare is refused") {
    s.no_new_privs = true;
    auto child = spawn(s);
    REQUIRE_MESSAGE(child.has_value(), (child ? "" : child.error().message()));
    auto status = child->wait();
    REQUIRE(status.has_value());
    CHECK_FALSE(status->signaled);
    CHECK(status->code == 0);
  }
}
