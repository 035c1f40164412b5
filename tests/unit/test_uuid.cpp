// Request ids: version-4 UUIDs from a pool of random bytes drawn from
// OpenSSL a few ids at a time. Each is well-formed and none repeats, across
// refills, threads and a fork that goes on.
#include <doctest/doctest.h>

#include "util/clock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using lambdad::util::uuid4;

TEST_CASE("ids are version-4 UUIDs, lowercase, and none repeats over many pool refills") {
  std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    auto id = uuid4();
    REQUIRE(std::regex_match(id, shape));
    seen.insert(id);
  }
  CHECK(seen.size() == 20000);
}

TEST_CASE("threads draw from pools of their own, and a forked child does not repeat its parent's ids") {
  uuid4();  // this thread's pool is filled
  std::vector<std::string> a, b;
  std::thread t1([&] { for (int i = 0; i < 1000; ++i) a.push_back(uuid4()); });
  std::thread t2([&] { for (int i = 0; i < 1000; ++i) b.push_back(uuid4()); });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == 2000);
  // The parent and a child after fork each take the next id: they differ
  // (the pool still held bytes when it forked).
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto id = uuid4();
    (void)!::write(pipe_fds[1], id.data(), id.size());
    ::_exit(0);
  }
  auto mine = uuid4();
  char theirs[36];
  REQUIRE(::read(pipe_fds[0], theirs, sizeof theirs) == 36);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  CHECK(std::string(theirs, 36) != mine);
}
