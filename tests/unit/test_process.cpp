// spawn(): exit codes, signals, captured output, the exact environment, and
// each failed setup step reported with its object and errno. No zombies.
#include <doctest/doctest.h>

#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace lambdad::sandbox;

namespace {

SpawnSpec sh(std::string script) {
  SpawnSpec s;
  s.path = "/bin/sh";
  s.argv = {"sh", "-c", std::move(script)};
  s.env = {"PATH=/usr/bin:/bin"};
  return s;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

bool zombie_or_alive(pid_t pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

}  // namespace

TEST_CASE("exit status and no zombie after wait") {
  auto child = spawn(sh("exit 3"));
  REQUIRE(child.has_value());
  auto st = child->wait();
  REQUIRE(st.has_value());
  CHECK_FALSE(st->signaled);
  CHECK(st->code == 3);
  CHECK_FALSE(zombie_or_alive(child->pid()));
}

TEST_CASE("a signal through the pidfd ends it and is reported") {
  auto child = spawn(sh("sleep 30"));
  REQUIRE(child.has_value());
  auto running = child->try_wait();
  REQUIRE(running.has_value());
  CHECK_FALSE(running->has_value());
  REQUIRE(child->signal(SIGKILL).has_value());
  auto st = child->wait();
  REQUIRE(st.has_value());
  CHECK(st->signaled);
  CHECK(st->code == SIGKILL);
}

TEST_CASE("stdout and stderr go where the spec says; the environment is exactly the spec's") {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  auto spec = sh("echo \"[$GREETING] [$HOME] [$(pwd)]\"; echo err >&2");
  spec.env = {"GREETING=hi", "PATH=/usr/bin:/bin"};
  spec.cwd = "/tmp";
  spec.stdout_fd = out[1];
  spec.stderr_fd = out[1];
  auto child = spawn(spec);
  ::close(out[1]);
  REQUIRE(child.has_value());
  std::string text = read_all(out[0]);
  ::close(out[0]);
  REQUIRE(child->wait().has_value());
  CHECK(text == "[hi] [] [/tmp]\nerr\n");
}

TEST_CASE("inherited descriptors are closed in the child") {
  int keep = ::open("/dev/null", O_RDONLY);  // not CLOEXEC on purpose
  REQUIRE(keep >= 0);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  auto spec = sh("ls /proc/self/fd | wc -l");
  spec.stdout_fd = out[1];
  auto child = spawn(spec);
  ::close(out[1]);
  REQUIRE(child.has_value());
  std::string text = read_all(out[0]);
  ::close(out[0]);
  ::close(keep);
  REQUIRE(child->wait().has_value());
  // 0, 1, 2 and the directory fd `ls` opens to list /proc/self/fd.
  CHECK(std::stoi(text) == 4);
}

TEST_CASE("failed steps name the object and the cause") {
  SpawnSpec missing;
  missing.path = "/nonexistent/bootstrap";
  missing.argv = {"bootstrap"};
  auto r = spawn(missing);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "exec `/nonexistent/bootstrap`: No such file or directory");

  // A bootstrap without its exec bit (no x bit at all refuses even root).
  char tmpl[] = "/tmp/lambdad-noexec-XXXXXX";
  int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "#!/bin/sh\n", 10) == 10);
  ::fchmod(fd, 0644);
  ::close(fd);
  SpawnSpec not_exec;
  not_exec.path = tmpl;
  not_exec.argv = {"bootstrap"};
  auto p = spawn(not_exec);
  ::unlink(tmpl);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message() == "exec `" + std::string(tmpl) + "`: Permission denied");

  auto bad_cwd = sh("true");
  bad_cwd.cwd = "/nonexistent-dir";
  auto c = spawn(bad_cwd);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message() == "chdir to `/nonexistent-dir`: No such file or directory");
}

TEST_CASE("a private mount namespace with /var/task and /opt, pid 1 of its own pid namespace") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: mount and pid namespaces need root here (rootless comes with the sandbox issue)");
    return;
  }
  char tmpl[] = "/tmp/lambdad-mounts-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  for (auto d : {"/code", "/l1", "/l2"}) std::filesystem::create_directories(dir + d);
  auto write = [](std::string const& p, std::string const& text) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
  };
  write(dir + "/code/file", "code");
  write(dir + "/l1/x", "first");
  write(dir + "/l1/only1", "one");
  write(dir + "/l2/x", "second");
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  auto spec = sh("echo $$ $(cat /var/task/file) $(cat /opt/x) $(cat /opt/only1); "
                 "touch /var/task/new 2>/dev/null || echo task-ro; touch /opt/new 2>/dev/null || echo opt-ro");
  spec.new_pid_ns = true;
  spec.mounts = {{MountOp::Kind::Tmpfs, "", "/var", "size=1m,mode=0755"},
                 {MountOp::Kind::Mkdir, "", "/var/task", ""},
                 {MountOp::Kind::BindRO, dir + "/code", "/var/task", ""},
                 {MountOp::Kind::Overlay, "", "/opt", "lowerdir=" + dir + "/l2:" + dir + "/l1"}};
  spec.cwd = "/var/task";
  spec.stdout_fd = out[1];
  auto child = spawn(spec);
  ::close(out[1]);
  REQUIRE_MESSAGE(child.has_value(), (child ? "" : child.error().message()));
  std::string text = read_all(out[0]);
  ::close(out[0]);
  REQUIRE(child->wait().has_value());
  CHECK(text == "1 code second one\ntask-ro\nopt-ro\n");
  // The host saw none of it.
  CHECK_FALSE(std::filesystem::exists("/var/task/file"));
  CHECK_FALSE(std::filesystem::exists("/opt/x"));

  spec.mounts.push_back({MountOp::Kind::BindRO, dir + "/missing", "/var/task", ""});
  auto bad = spawn(spec);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() == "mount `/var/task`: No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST_CASE("wait works on a non-blocking pidfd (one an event loop also watches)") {
  auto child = spawn(sh("sleep 0.2; exit 5"));
  REQUIRE(child.has_value());
  int flags = ::fcntl(child->pidfd(), F_GETFL);
  REQUIRE(::fcntl(child->pidfd(), F_SETFL, flags | O_NONBLOCK) == 0);
  auto running = child->try_wait();
  REQUIRE(running.has_value());
  CHECK_FALSE(running->has_value());
  auto st = child->wait();
  REQUIRE(st.has_value());
  CHECK(st->code == 5);
  CHECK_FALSE(zombie_or_alive(child->pid()));
}

TEST_CASE("a cgroup v2 directory: the child starts inside it (CLONE_INTO_CGROUP), never migrated") {
  // Where this process sits in the v2 hierarchy, and where that is mounted.
  std::string mount, path, line;
  std::ifstream mi("/proc/self/mountinfo");
  while (std::getline(mi, line)) {
    auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream f(line);
    std::string id, parent, dev, root;
    f >> id >> parent >> dev >> root >> mount;
    break;
  }
  std::ifstream cg("/proc/self/cgroup");
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (mount.empty() || path.empty()) {
    MESSAGE("skipped: no cgroup v2 hierarchy mounted here");
    return;
  }
  std::string leaf = (path == "/" ? "" : path) + "/lambdad-unit-" + std::to_string(::getpid());
  std::string dir = mount + leaf;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    MESSAGE("skipped: cannot create a cgroup v2 directory here (" << std::strerror(errno) << ")");
    return;
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir_fd >= 0);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  auto spec = sh("cat /proc/self/cgroup");
  spec.stdout_fd = out[1];
  spec.cgroup_dir_fd = dir_fd;
  auto child = spawn(spec);
  ::close(out[1]);
  ::close(dir_fd);
  REQUIRE_MESSAGE(child.has_value(), (child ? "" : child.error().message()));
  std::string text = read_all(out[0]);
  ::close(out[0]);
  REQUIRE(child->wait().has_value());
  CHECK(text.find("0::" + leaf + "\n") != std::string::npos);
  CHECK(::rmdir(dir.c_str()) == 0);
}
