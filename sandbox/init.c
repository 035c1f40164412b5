/* lambdad-init: pid 1 of an execution environment's pid namespace, as
 * Lambda has an init of its own under the runtime. Statically linked (it
 * must run on any --rootfs) and small; lambdad execs it by descriptor, so
 * it needs no path inside the sandbox.
 *
 *   lambdad-init BOOTSTRAP [EXTENSION...]
 *   lambdad-init -n N BOOTSTRAP ARG... [EXTENSION...]   (the bootstrap with
 *                                  N-1 arguments: an interpreter and its script)
 *   lambdad-init -w                a pre-made sandbox shell: waits on
 *                                  descriptor 3 for its order (shell_order.h),
 *                                  makes the function's mounts, drops to its
 *                                  identity, installs the order's seccomp
 *                                  filter, then goes on as above. The
 *                                  daemon closing its end first: exit 0.
 *
 * Everything else (mounts, identity, limits, environment, cwd, streams) is
 * already in place. It starts each extension, then the bootstrap, reaps
 * every process that ends in the namespace (orphans included: no zombie is
 * left), and when the bootstrap ends it writes the bootstrap's wait status
 * (an int, native byte order) to descriptor 3, ends whatever is left in the
 * namespace and exits 0. Descriptor 3 is closed in everything it starts.
 *
 * SIGTERM (the daemon is stopping) is passed on to the bootstrap, as Lambda
 * signals its runtime at shutdown; extensions get their SHUTDOWN event from
 * the daemon instead. Once terminating, the bootstrap's end no longer ends
 * the rest: extensions finish on their own or the daemon kills pid 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell_order.h"

extern char** environ;

static volatile sig_atomic_t terminate_requested;
static volatile pid_t bootstrap_pid;

static void on_sigterm(int sig) {
  (void)sig;
  int saved = errno; /* the main loop tests errno after waitpid */
  terminate_requested = 1;
  if (bootstrap_pid > 0) kill(bootstrap_pid, SIGTERM);
  errno = saved;
}

/* Runs argv (NULL-terminated); argv[0] is the path. */
static pid_t start_argv(char** argv) {
  char* path = argv[0];
  pid_t pid = fork();
  if (pid == 0) {
    execve(path, argv, environ);
    /* What Lambda's init says for an extension it cannot start. */
    dprintf(2, "lambdad-init: cannot execute %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  return pid;
}

static pid_t start(char* path) {
  char* argv[] = {path, NULL};
  return start_argv(argv);
}

/* A setup step of the shell failed: say which in the function's log, report
 * the bootstrap as never started (127), and end the shell. */
static void order_failed(char const* what, int status_fd) {
  dprintf(2, "lambdad-init: sandbox shell: %s: %s\n", what, strerror(errno));
  int status = 127 << 8;
  if (status_fd >= 0) (void)!write(status_fd, &status, sizeof status);
  _exit(0);
}

static void put_mount(int fd, char const* target, char const* tmpfs_data, int status_fd) {
  int rc = fd >= 0 ? (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)
                   : mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_data);
  if (rc != 0) order_failed(target, status_fd);
  if (fd >= 0) close(fd);
}

/* Becomes who the order says, without a way back. */
static void drop_privileges(struct lambdad_order const* o, int status_fd) {
  if (o->flags & LAMBDAD_ORDER_DROP_CAPS) {
    /* Capabilities are numbered from 0 without a gap: the first EINVAL is
     * past the kernel's last one. */
    for (int cap = 0; cap < 64; ++cap) {
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
      if (errno == EINVAL) break;
      order_failed("drop capabilities", status_fd);
    }
  }
  if ((o->flags & LAMBDAD_ORDER_IDENTITY) &&
      (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, o->gid, o->gid, o->gid) != 0 ||
       syscall(SYS_setresuid, o->uid, o->uid, o->uid) != 0))
    order_failed("change identity", status_fd);
  if (o->flags & LAMBDAD_ORDER_DROP_CAPS) {
    /* The uid change emptied the rest unless the uid is 0: then by hand. */
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof none);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 || syscall(SYS_capset, &head, none) != 0)
      order_failed("clear capabilities", status_fd);
  }
  if ((o->flags & LAMBDAD_ORDER_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    order_failed("set no_new_privs", status_fd);
}

/* The order's filter, aligned for the kernel; installed last. */
static struct sock_filter filter[LAMBDAD_ORDER_MAX_FILTER];

static void install_filter(struct lambdad_order const* o, int status_fd) {
  if (!(o->flags & LAMBDAD_ORDER_SECCOMP)) return;
  struct sock_fprog prog = {(unsigned short)o->filter_len, filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) order_failed("install the seccomp filter", status_fd);
}

/* Splits n NUL-terminated strings off *at (within end) into out. */
static int take_strings(char** at, char* end, char** out, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    char* nul = memchr(*at, '\0', (size_t)(end - *at));
    if (!nul) return -1;
    out[i] = *at;
    *at = nul + 1;
  }
  return 0;
}

/* -w: waits for the order, applies it, and returns the argv of the plain
 * form (-n N BOOTSTRAP ARG... EXTENSION...) with environ set. */
static char** take_order(int* argc_out) {
  static char buf[LAMBDAD_ORDER_MAX_BYTES];
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int) * LAMBDAD_ORDER_MAX_FDS)];
  } ctl;
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.bytes;
  msg.msg_controllen = sizeof ctl.bytes;
  ssize_t n;
  do {
    n = recvmsg(3, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) _exit(0); /* let go unused */
  int fds[LAMBDAD_ORDER_MAX_FDS], nfds = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (nfds > LAMBDAD_ORDER_MAX_FDS) nfds = LAMBDAD_ORDER_MAX_FDS;
    memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
  }
  struct lambdad_order o;
  if ((size_t)n < sizeof o || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds < 3) {
    errno = EPROTO;
    order_failed("a malformed order", nfds >= 2 ? fds[1] : -1);
  }
  memcpy(&o, buf, sizeof o);
  int want = 3 + !!(o.flags & LAMBDAD_ORDER_OPT) + !!(o.flags & LAMBDAD_ORDER_RUNTIME);
  int status_fd = fds[1];
  size_t filter_bytes = (o.flags & LAMBDAD_ORDER_SECCOMP) ? (size_t)o.filter_len * sizeof(struct sock_filter) : 0;
  if (o.magic != LAMBDAD_ORDER_MAGIC || nfds != want || o.argc < 1 || o.argc > 60 || o.companions > 60 ||
      o.envc > 4096 || o.filter_len > LAMBDAD_ORDER_MAX_FILTER || (size_t)n < sizeof o + filter_bytes ||
      ((o.flags & LAMBDAD_ORDER_SECCOMP) && (o.filter_len == 0 || !(o.flags & LAMBDAD_ORDER_NO_NEW_PRIVS)))) {
    errno = EPROTO;
    order_failed("a malformed order", status_fd);
  }
  memcpy(filter, buf + sizeof o, filter_bytes);
  if (dup2(fds[0], 1) != 1 || dup2(fds[0], 2) != 2) order_failed("dup the output pipe", status_fd);
  close(fds[0]);
  int next = 3, opt = -1, runtime = -1;
  if (o.flags & LAMBDAD_ORDER_OPT) opt = fds[next++];
  if (o.flags & LAMBDAD_ORDER_RUNTIME) runtime = fds[next++];
  char tmp_data[64];
  snprintf(tmp_data, sizeof tmp_data, "size=%um,mode=1777", o.tmp_mb);
  put_mount(fds[2], "/var/task", NULL, status_fd);
  put_mount(opt, "/opt", "size=4k,mode=0755", status_fd);
  if (runtime >= 0) put_mount(runtime, "/var/runtime", NULL, status_fd);
  put_mount(-1, "/tmp", tmp_data, status_fd);
  char* at = buf + sizeof o + filter_bytes;
  char* end = buf + n;
  char* cwd[1];
  /* "lambdad-init" "-n" N, then the bootstrap's argv and the extensions. */
  int argc = 3 + (int)o.argc + (int)o.companions;
  char** argv = calloc((size_t)argc + 1, sizeof(char*));
  char** envp = calloc((size_t)o.envc + 1, sizeof(char*));
  static char count[16];
  snprintf(count, sizeof count, "%u", o.argc);
  if (!argv || !envp || take_strings(&at, end, cwd, 1) != 0 || take_strings(&at, end, argv + 3, o.argc) != 0 ||
      take_strings(&at, end, argv + 3 + o.argc, o.companions) != 0 || take_strings(&at, end, envp, o.envc) != 0) {
    errno = EPROTO;
    order_failed("a malformed order", status_fd);
  }
  argv[0] = "lambdad-init";
  argv[1] = "-n";
  argv[2] = count;
  if (chdir(cwd[0]) != 0) order_failed(cwd[0], status_fd);
  drop_privileges(&o, status_fd);
  /* The uid change cleared it. A daemon that died before this would never
   * signal: its end of the control socket is closed then. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) order_failed("set the death signal", status_fd);
  struct pollfd daemon_end = {3, POLLIN, 0};
  if (poll(&daemon_end, 1, 0) == 1 && (daemon_end.revents & (POLLHUP | POLLERR))) _exit(0);
  if (dup2(status_fd, 3) != 3) order_failed("dup the status pipe", status_fd);
  close(status_fd);
  install_filter(&o, 3);
  environ = envp;
  *argc_out = argc;
  return argv;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    dprintf(2, "usage: lambdad-init BOOTSTRAP [EXTENSION...]\n");
    return 64;
  }
  /* As pid 1 of a namespace, a signal from outside arrives only if handled
   * (exec resets the handler in what it starts). Before a shell's wait, so
   * that a SIGTERM right after its order is not lost. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigterm;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: waitpid returns EINTR */
  if (strcmp(argv[1], "-w") == 0) argv = take_order(&argc);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  int first = 1, count = 1; /* the bootstrap's argv: argv[first .. first+count) */
  if (strcmp(argv[1], "-n") == 0 && argc >= 4) {
    count = atoi(argv[2]);
    first = 3;
    if (count < 1 || first + count > argc) {
      dprintf(2, "lambdad-init: -n %s: not that many arguments\n", argv[2]);
      return 64;
    }
  }
  for (int i = first + count; i < argc; ++i) start(argv[i]);
  char* bootstrap_argv[64];
  if (count > 63) count = 63;
  for (int i = 0; i < count; ++i) bootstrap_argv[i] = argv[first + i];
  bootstrap_argv[count] = NULL;
  pid_t bootstrap = start_argv(bootstrap_argv);
  bootstrap_pid = bootstrap;
  if (terminate_requested && bootstrap > 0) kill(bootstrap, SIGTERM);
  if (bootstrap < 0) {
    int status = 127 << 8;
    (void)!write(3, &status, sizeof status);
    return 0;
  }
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) return 0; /* nothing left */
    if (pid == bootstrap && terminate_requested) {
      (void)!write(3, &status, sizeof status);
      bootstrap = bootstrap_pid = 0;
      continue;
    }
    if (pid == bootstrap) {
      bootstrap_pid = 0; /* reaped: a late SIGTERM must not hit a reused pid */
      (void)!write(3, &status, sizeof status);
      kill(-1, SIGKILL); /* as pid 1: every other process of the namespace */
      while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
      }
      return 0;
    }
  }
}
