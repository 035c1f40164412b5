// Pre-made sandboxes: a small pool of shells (sandbox/shell.hpp) whose
// namespaces, cgroup (joined already) and root filesystem are made before
// any request needs them, by a thread of the pool's own, so that a cold
// start pays only for what is the function's: its code and layers moved
// into place, its limits, its identity, and its own init. Shells are
// interchangeable: any function of this daemon can take any of them.
#pragma once

#include "invoker.hpp"

#include "cgroup.hpp"
#include "process.hpp"

#include "util/fd.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lambdad::exec {

// The namespaces, limits and root every environment of these options gets
// (shell or not); the function's own mounts and identity are added later.
void base_spec(SandboxOptions const& sb, sandbox::SpawnSpec& spec);
// RLIMIT_NOFILE in every environment: Lambda's 1024, or less under a lower
// hard limit of the daemon's.
std::uint64_t environment_open_files();

struct Shell {
  sandbox::Child child;      // lambdad-init -w, pid 1 of the shell's namespaces
  sandbox::CgroupEnv cgroup;  // joined, with the pids limit; memory is set when taken
  util::Fd control;          // the daemon's end of the order socket
  util::Fd listener;         // isolated network: the Runtime API listener made inside
};

class ShellPool {
 public:
  // Keeps `size` shells ready for environments of `sb` (which must outlive
  // the pool, its cgroups included). 0, or options a shell cannot serve
  // (see unavailable), make no shells.
  ShellPool(SandboxOptions const& sb, std::size_t size);
  // stop(): the pool goes last, after the environments (their parent
  // thread's end would end them: their death signal).
  ~ShellPool();
  ShellPool(ShellPool const&) = delete;
  ShellPool& operator=(ShellPool const&) = delete;

  // Why shells cannot serve these options (say so at start), or nothing.
  static std::optional<std::string> unavailable(SandboxOptions const& sb);
  std::size_t size() const { return size_; }
  // Whether a shell is ready now (only take() makes that false).
  bool has_ready();
  // A ready shell, if there is one; the pool starts making its successor.
  std::optional<Shell> take();
  // Makes no more, ends the shells not taken and joins the pool's thread
  // (the parent of every environment made from a shell: call it once those
  // are reaped). Idempotent; the destructor calls it.
  void stop();
  // Ends a shell that will not be used, and reaps it.
  static void discard(Shell& shell, sandbox::Cgroups* cgroups);

 private:
  void run();
  Result<Shell> make();
  // The shell's cgroup for its spawn: the directory to start in (v2), or the
  // files it joins by.
  Result<void> open_cgroup(Shell const& shell, sandbox::SpawnSpec& spec, util::Fd& dir,
                           std::vector<util::Fd>& join) const;

  SandboxOptions sb_;
  std::size_t size_ = 0;
  std::mutex m_;
  std::condition_variable wake_;
  std::deque<Shell> ready_;
  bool stopping_ = false;
  bool clone_into_cgroup_ = true;  // the pool's thread only
  std::thread worker_;
};

}  // namespace lambdad::exec
