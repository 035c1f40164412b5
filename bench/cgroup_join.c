/* What putting a new process into a cgroup costs, two ways, each after an
 * idle pause (as a cold start after a quiet moment) and back to back:
 *
 *   migrate   fork, then the parent writes the child's pid to cgroup.procs
 *   clone3    (cgroup v2) clone3 with CLONE_INTO_CGROUP: the child starts
 *             inside it (what lambdad does on v2)
 *   tasks     (cgroup v1) fork, then the child writes "0" to `tasks`: it
 *             moves itself, one thread (what lambdad does on v1)
 *
 * A migration of a process takes the kernel's cgroup_threadgroup_rwsem for
 * writing, which waits for an RCU grace period unless another writer just
 * had it; a thread moving itself by `tasks` does not take it.
 * Run as root on a machine with a writable cgroup v2 hierarchy, or else
 * v1's pids hierarchy (`v1` picks it on a hybrid machine, as lambdad does
 * when the memory controller is on v1):
 *   build/bench/cgroup-join [runs] [pause_ms] [v1]
 * Prints p50/p90/p99 in milliseconds of each way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void report(const char* what, double* xs, int n) {
  qsort(xs, n, sizeof *xs, cmp);
  printf("| %-34s | %7.3f | %7.3f | %7.3f |\n", what, xs[n / 2], xs[n * 9 / 10], xs[n * 99 / 100]);
}

/* The four rows: migrate after idle and back to back, then `other` so. */
static void table(const char* what, const char* other, double** t, int runs, int pause_ms) {
  printf("%d runs, %s\n\n", runs, what);
  printf("| %-34s | %7s | %7s | %7s |\n|---|---|---|---|\n", "what", "p50", "p90", "p99");
  char label[64];
  snprintf(label, sizeof label, "fork + migrate, after %d ms idle", pause_ms);
  report(label, t[0], runs);
  report("fork + migrate, back to back", t[1], runs);
  snprintf(label, sizeof label, "%s, %d ms idle", other, pause_ms);
  report(label, t[2], runs);
  snprintf(label, sizeof label, "%s, back to back", other);
  report(label, t[3], runs);
}

static int find_v2(char* dir, size_t len) {
  FILE* mi = fopen("/proc/self/mountinfo", "r");
  char line[4096], mount[1024] = "", path[1024] = "";
  while (mi && fgets(line, sizeof line, mi))
    if (strstr(line, " - cgroup2 ")) sscanf(line, "%*s %*s %*s %*s %1023s", mount);
  if (mi) fclose(mi);
  FILE* cg = fopen("/proc/self/cgroup", "r");
  while (cg && fgets(line, sizeof line, cg))
    if (strncmp(line, "0::", 3) == 0) sscanf(line + 3, "%1023s", path);
  if (cg) fclose(cg);
  if (!*mount || !*path) return -1;
  snprintf(dir, len, "%s%s/lambdad-bench-%d", mount, strcmp(path, "/") == 0 ? "" : path, (int)getpid());
  return 0;
}

/* cgroup v1: a new cgroup under this process's own in the pids hierarchy. */
static int find_v1(char* dir, size_t len) {
  FILE* mi = fopen("/proc/self/mountinfo", "r");
  char line[4096], mount[1024] = "", path[1024] = "";
  while (mi && fgets(line, sizeof line, mi)) {
    char* fs = strstr(line, " - cgroup ");
    if (fs && strstr(fs, "pids")) sscanf(line, "%*s %*s %*s %*s %1023s", mount);
  }
  if (mi) fclose(mi);
  FILE* cg = fopen("/proc/self/cgroup", "r");
  while (cg && fgets(line, sizeof line, cg)) {
    char* c = strchr(line, ':');
    if (c && strncmp(c, ":pids:", 6) == 0) sscanf(c + 6, "%1023s", path);
  }
  if (cg) fclose(cg);
  if (!*mount || !*path) return -1;
  snprintf(dir, len, "%s%s/lambdad-bench-%d", mount, strcmp(path, "/") == 0 ? "" : path, (int)getpid());
  return 0;
}

/* One spawn into the v1 cgroup `dir`: the parent moves the child by pid
 * (procs) or the child moves itself by `tasks`. Milliseconds until it is in. */
static double v1_spawn(const char* dir, int by_tasks) {
  char file[2100];
  snprintf(file, sizeof file, "%s/%s", dir, by_tasks ? "tasks" : "cgroup.procs");
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  int done[2];
  if (fd < 0 || pipe(done) != 0) {
    perror("cgroup-join: open the cgroup's file");
    exit(1);
  }
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    if (by_tasks && write(fd, "0", 1) != 1) _exit(1);
    if (write(done[1], "j", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(done[1]); /* a child that could not move ends the read with EOF */
  char buf[32] = "";
  int n = snprintf(buf, sizeof buf, "%d", (int)pid);
  if (!by_tasks && write(fd, buf, n) != n) {
    perror("cgroup-join: move into cgroup.procs"); /* a failed move is no timing */
    kill(pid, SIGKILL);
    exit(1);
  }
  if (read(done[0], buf, 1) != 1) {
    fprintf(stderr, "cgroup-join: the child could not move itself by tasks\n");
    exit(1);
  }
  double ms = now_ms() - t0;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(fd);
  close(done[0]);
  return ms;
}

static int run_v1(int runs, int pause_ms) {
  char dir[2048];
  if (find_v1(dir, sizeof dir) != 0 || mkdir(dir, 0755) != 0) {
    fprintf(stderr, "cgroup-join: no writable cgroup hierarchy here, v2 or v1's pids (%s)\n", strerror(errno));
    return 77;
  }
  double* t[4];
  for (int k = 0; k < 4; ++k) t[k] = calloc(runs, sizeof(double));
  for (int i = 0; i < runs; ++i)
    for (int k = 0; k < 4; ++k) {
      if (k % 2 == 0) usleep(pause_ms * 1000);
      t[k][i] = v1_spawn(dir, k >= 2);
    }
  table("cgroup v1 (pids); milliseconds from fork to the child in the cgroup", "child moves by tasks", t, runs,
        pause_ms);
  rmdir(dir);
  return 0;
}

int main(int argc, char** argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 100;
  int pause_ms = argc > 2 ? atoi(argv[2]) : 30;
  char dir[2048], procs[2100];
  if ((argc > 3 && strcmp(argv[3], "v1") == 0) || find_v2(dir, sizeof dir) != 0) return run_v1(runs, pause_ms);
  if (mkdir(dir, 0755) != 0) {
    fprintf(stderr, "cgroup-join: cannot make a cgroup in the v2 hierarchy (%s)\n", strerror(errno));
    return 77;
  }
  snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    perror("cgroup-join: open the cgroup");
    return 1;
  }
  double* t[4];
  for (int k = 0; k < 4; ++k) t[k] = calloc(runs, sizeof(double));
  for (int i = 0; i < runs; ++i) {
    for (int k = 0; k < 4; ++k) {
      int idle = k % 2 == 0;
      if (idle) usleep(pause_ms * 1000);
      double t0 = now_ms();
      pid_t pid;
      if (k < 2) {
        pid = fork();
        if (pid == 0) {
          pause();
          _exit(0);
        }
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d", (int)pid);
        if (fd < 0 || write(fd, buf, n) != n) {
          perror("cgroup-join: move into cgroup.procs"); /* a failed move is no timing */
          kill(pid, SIGKILL);
          return 1;
        }
        close(fd);
      } else {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)dirfd;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) {
          pause();
          _exit(0);
        }
        if (pid < 0) {
          perror("clone3");
          return 1;
        }
      }
      t[k][i] = now_ms() - t0;
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
  }
  table("milliseconds from the start of the spawn to the child in the cgroup", "clone3 into it", t, runs, pause_ms);
  close(dirfd);
  rmdir(dir);
  return 0;
}
