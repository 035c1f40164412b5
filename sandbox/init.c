/* lambdad-init: pid 1 of an execution environment's pid namespace, as
 * Lambda has an init of its own under the runtime. Statically linked (it
 * must run on any --rootfs) and small; lambdad execs it by descriptor, so
 * it needs no path inside the sandbox.
 *
 *   lambdad-init BOOTSTRAP [EXTENSION...]
 *   lambdad-init -n N BOOTSTRAP ARG... [EXTENSION...]   (the bootstrap with
 *                                  N-1 arguments: an interpreter and its script)
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

int main(int argc, char** argv) {
  if (argc < 2) {
    dprintf(2, "usage: lambdad-init BOOTSTRAP [EXTENSION...]\n");
    return 64;
  }
  fcntl(3, F_SETFD, FD_CLOEXEC);
  /* As pid 1 of a namespace, a signal from outside arrives only if handled
   * (exec resets the handler in what it starts). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigterm;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: waitpid returns EINTR */
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
