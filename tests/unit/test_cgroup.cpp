// The cgroup code against fake v1 and v2 trees in a temp directory (plain
// files where the kernel would have control files), then for real on this
// machine when it has a usable hierarchy and runs as root.
#include <doctest/doctest.h>

#include "cgroup.hpp"
#include "temp_dir.hpp"
#include "util/fsutil.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace lambdad::sandbox;
using lambdad::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(fs::path const& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(fs::path const& p, std::string const& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string v1_mountinfo(fs::path const& root) {
  return "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
         "35 31 0:32 / " + (root / "memory").string() + " rw,relatime - cgroup cgroup rw,memory\n"
         "37 31 0:34 / " + (root / "freezer").string() + " rw,relatime - cgroup cgroup rw,freezer\n"
         "39 31 0:36 / " + (root / "pids").string() + " rw,relatime - cgroup cgroup rw,pids\n"
         "40 31 0:38 / " + (root / "unified").string() + " rw,relatime - cgroup2 cgroup2 rw\n";
}

char const* kV1Self = "8:pids:/\n6:freezer:/\n4:memory:/svc/abc\n0::/\n";

}  // namespace

TEST_CASE("v1: the daemon's own cgroup in each hierarchy; an empty v2 mount is noted and passed over") {
  TempDir dir("lambdad-cgroup");
  put(dir.path / "unified" / "cgroup.controllers", "");
  auto layout = detect_cgroups(v1_mountinfo(dir.path), kV1Self);
  CHECK(layout.version == 1);
  CHECK(layout.v1.at("memory") == (dir.path / "memory").string() + "/svc/abc");
  CHECK(layout.v1.at("pids") == (dir.path / "pids").string());
  CHECK(layout.controllers == std::set<std::string>{"freezer", "memory", "pids"});
  REQUIRE(layout.notes.size() == 1);
  CHECK(layout.notes[0].find("offers no memory controller") != std::string::npos);
}

TEST_CASE("v2 wins when it offers memory; pids and freezer follow what is there") {
  TempDir dir("lambdad-cgroup");
  std::string mountinfo = "40 31 0:38 / " + (dir.path / "unified").string() + " rw - cgroup2 cgroup2 rw\n";
  put(dir.path / "unified/user.slice/app/cgroup.controllers", "cpu io memory pids\n");
  put(dir.path / "unified/user.slice/app/cgroup.freeze", "0\n");
  auto layout = detect_cgroups(mountinfo, "0::/user.slice/app\n");
  CHECK(layout.version == 2);
  CHECK(layout.unified == (dir.path / "unified/user.slice/app").string());
  CHECK(layout.controllers == std::set<std::string>{"freezer", "memory", "pids"});
  // Without memory: none usable, said why.
  put(dir.path / "unified/user.slice/app/cgroup.controllers", "cpu io\n");
  auto none = detect_cgroups(mountinfo, "0::/user.slice/app\n");
  CHECK(none.version == 0);
  CHECK(none.notes.size() == 2);
}

TEST_CASE("v1: open cleans leftovers of dead daemons, environments get limits, peak, OOM count, freezing") {
  TempDir dir("lambdad-cgroup");
  auto layout = detect_cgroups(v1_mountinfo(dir.path), kV1Self);
  for (char const* own : {"memory/svc/abc", "pids", "freezer"}) fs::create_directories(dir.path / own);
  // A leftover of a daemon that is gone (pid 2^22 is above pid_max's default
  // ceiling) and one of a live process (our parent).
  fs::create_directories(dir.path / "pids/lambdad-4194304/env-1");
  std::string live = "lambdad-" + std::to_string(::getppid());
  fs::create_directories(dir.path / "pids" / live);
  auto cg = Cgroups::open(layout, ::getpid());
  REQUIRE(cg.has_value());
  CHECK(cg->cleaned() == std::vector<std::string>{(dir.path / "pids/lambdad-4194304").string()});
  CHECK(fs::exists(dir.path / "pids" / live));
  std::string base = "lambdad-" + std::to_string(::getpid());
  fs::path mem = dir.path / "memory/svc/abc" / base / "env-1";
  // Swap accounting present: memsw is set too.
  put(mem / "memory.memsw.limit_in_bytes", "");
  auto env = cg->create("env-1", {128u << 20, 1024});
  REQUIRE(env.has_value());
  CHECK(slurp(mem / "memory.limit_in_bytes") == std::to_string(128u << 20));
  CHECK(slurp(mem / "memory.memsw.limit_in_bytes") == std::to_string(128u << 20));
  CHECK(slurp(dir.path / "pids" / base / "env-1/pids.max") == "1024");
  put(mem / "memory.max_usage_in_bytes", "44040192\n");
  CHECK(env->peak_memory() == 44040192u);
  put(mem / "memory.max_usage_in_bytes", "50331648\n");  // the same file, kept open: read anew
  CHECK(env->peak_memory() == 50331648u);
  CHECK(env->oom_kills() == 0);
  put(mem / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  CHECK(env->oom_kills() == 2);
  CHECK(env->can_freeze());
  REQUIRE(env->freeze(true).has_value());
  CHECK(slurp(dir.path / "freezer" / base / "env-1/freezer.state") == "FROZEN");
  REQUIRE(env->freeze(false).has_value());
  CHECK(slurp(dir.path / "freezer" / base / "env-1/freezer.state") == "THAWED");
  // v1: a child joins by `tasks` (one thread, moved without the global
  // lock); the file must exist to be opened (the kernel makes it).
  for (char const* c : {"memory/svc/abc", "pids", "freezer"}) put(dir.path / c / base / "env-1/tasks", "");
  auto fds = env->open_join_files();
  REQUIRE(fds.has_value());
  CHECK(fds->size() == 3);
  for (auto const& fd : *fds) CHECK(fd.get() >= 0);
  // A fake directory holds real files, so rmdir fails: retried by sweep.
  cg->remove(*env);
  CHECK(cg->sweep() == 3);
  for (char const* c : {"memory/svc/abc", "pids", "freezer"})
    for (auto const& f : fs::directory_iterator(dir.path / c / base / "env-1")) fs::remove(f.path());
  CHECK(cg->sweep() == 0);
  CHECK_FALSE(fs::exists(mem));
  // One empty cgroup stays frozen while the daemon runs (the freezer's key).
  REQUIRE(cg->pin_freezer().has_value());
  fs::path pin = dir.path / "freezer" / base / "pin";
  CHECK(slurp(pin / "freezer.state") == "FROZEN");
  REQUIRE(cg->pin_freezer().has_value());  // once
  cg->close();
  CHECK(slurp(pin / "freezer.state") == "THAWED");  // thawed before its rmdir (a fake keeps its file)
  CHECK_FALSE(fs::exists(dir.path / "pids" / base));
}

TEST_CASE("v2: the daemon moves into a leaf and enables the controllers for the environments") {
  TempDir dir("lambdad-cgroup");
  std::string mountinfo = "40 31 0:38 / " + (dir.path / "unified").string() + " rw - cgroup2 cgroup2 rw\n";
  fs::path own = dir.path / "unified/system.slice/lambdad.service";
  put(own / "cgroup.controllers", "memory pids\n");
  put(own / "cgroup.freeze", "0");
  auto layout = detect_cgroups(mountinfo, "0::/system.slice/lambdad.service\n");
  REQUIRE(layout.version == 2);
  auto cg = Cgroups::open(layout, ::getpid());
  REQUIRE(cg.has_value());
  fs::path base = own / ("lambdad-" + std::to_string(::getpid()));
  CHECK(slurp(base / "daemon/cgroup.procs") == std::to_string(::getpid()));
  CHECK(slurp(own / "cgroup.subtree_control") == "+memory +pids");
  CHECK(slurp(base / "cgroup.subtree_control") == "+memory +pids");
  put(base / "env-7/memory.swap.max", "max");
  auto env = cg->create("env-7", {256u << 20, 1024});
  REQUIRE(env.has_value());
  CHECK(slurp(base / "env-7/memory.max") == std::to_string(256u << 20));
  CHECK(slurp(base / "env-7/memory.swap.max") == "0");
  CHECK(slurp(base / "env-7/pids.max") == "1024");
  CHECK_FALSE(env->peak_memory().has_value());  // no memory.peak before Linux 5.19
  put(base / "env-7/memory.peak", "1048576\n");
  CHECK(env->peak_memory() == 1048576u);
  put(base / "env-7/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  CHECK(env->oom_kills() == 1);
  put(base / "env-7/cgroup.freeze", "0");
  REQUIRE(env->freeze(true).has_value());
  CHECK(slurp(base / "env-7/cgroup.freeze") == "1");
  REQUIRE(env->freeze(false).has_value());
  CHECK(slurp(base / "env-7/cgroup.freeze") == "0");
  REQUIRE(cg->pin_freezer().has_value());  // v2's freezer has no key to hold
  CHECK_FALSE(fs::exists(base / "pin"));
}

TEST_CASE("this machine, for real (as root with a usable hierarchy)") {
  auto layout = detect_cgroups();
  if (::geteuid() != 0 || layout.version == 0) {
    MESSAGE("skipped: needs root and a cgroup memory controller");
    return;
  }
  auto cg = Cgroups::open(layout, ::getpid());
  REQUIRE(cg.has_value());
  auto env = cg->create("env-unit", {64u << 20, 64});
  REQUIRE(env.has_value());
  auto fds = env->open_join_files();
  REQUIRE(fds.has_value());
  CHECK_FALSE(fds->empty());
  // A child of one thread joins by writing "0" to each, as a spawned one
  // does: the whole process is then in every one of its cgroups (on v1 it
  // wrote `tasks`, which moves only the writing thread).
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (auto const& fd : *fds)
      if (::write(fd.get(), "0", 1) != 1) ::_exit(1);
    (void)!::write(ready[1], "j", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);  // a child that failed to join ends the read with EOF
  char byte = 0;
  CHECK(::read(ready[0], &byte, 1) == 1);
  std::string own_env = "/lambdad-" + std::to_string(::getpid()) + "/env-unit";
  std::size_t joined = 0;
  std::istringstream lines(slurp("/proc/" + std::to_string(child) + "/cgroup"));
  for (std::string line; std::getline(lines, line);)
    if (line.size() >= own_env.size() && line.compare(line.size() - own_env.size(), own_env.size(), own_env) == 0)
      ++joined;
  CHECK(joined == fds->size());
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));  // not exit 1: every write succeeded
  ::close(ready[0]);
  if (layout.version == 1) CHECK(env->peak_memory().has_value());
  CHECK(env->oom_kills() == 0);
  // Freezing through the descriptor kept open, twice each way, read back by path.
  std::string own = "/lambdad-" + std::to_string(::getpid());
  if (env->can_freeze()) {
    fs::path state = layout.version == 2 ? fs::path(layout.unified + own + "/env-unit/cgroup.freeze")
                                         : fs::path(layout.v1.at("freezer") + own + "/env-unit/freezer.state");
    for (int round = 0; round < 2; ++round) {
      REQUIRE(env->freeze(true).has_value());
      CHECK(slurp(state) == (layout.version == 2 ? "1\n" : "FROZEN\n"));
      REQUIRE(env->freeze(false).has_value());
      CHECK(slurp(state) == (layout.version == 2 ? "0\n" : "THAWED\n"));
    }
  }
  if (layout.version == 1 && cg->has("freezer")) {
    REQUIRE(cg->pin_freezer().has_value());
    CHECK(slurp(layout.v1.at("freezer") + own + "/pin/freezer.state") == "FROZEN\n");
  }
  cg->remove(*env);
  CHECK(cg->sweep() == 0);
  cg->close();
  if (layout.version == 1 && cg->has("freezer")) CHECK_FALSE(fs::exists(layout.v1.at("freezer") + own));
}
