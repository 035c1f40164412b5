// cgroups v1 and v2 behind one interface: one cgroup per environment under
// the daemon's own (lambdad-<pid>/env-<n>), with a memory limit and no swap,
// a pids limit, the peak memory, the count of OOM kills, and freezing.
//   v2: <unified>/<own>/lambdad-<pid>/env-<n>; the daemon first moves itself
//       into the leaf <own>/lambdad-<pid>/daemon, because v2 enables
//       controllers for children only of a cgroup with no processes of its own.
//   v1: the same path under each of the memory, pids and freezer hierarchies
//       that is mounted.
// Everything is files under the mount points found in mountinfo, so the
// unit tests run it against fake trees in a temp directory. Not thread-safe;
// the caller serialises.
#pragma once

#include "util/fd.hpp"
#include "util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lambdad::sandbox {

struct CgroupLayout {
  int version = 0;                          // 0: none usable, 1, 2
  std::string unified;                      // v2: the daemon's own cgroup directory
  std::map<std::string, std::string> v1;    // v1: controller -> the daemon's own cgroup directory in it
  std::set<std::string> controllers;        // what can be used: memory, pids, freezer
  std::vector<std::string> notes;           // why something is missing, for start-up and `doctor`
};

// From the text of /proc/self/mountinfo and /proc/self/cgroup. v2 is chosen
// when its mount offers the memory controller to the daemon's cgroup, else
// v1 when the memory hierarchy is mounted.
CgroupLayout detect_cgroups(std::string const& mountinfo, std::string const& self_cgroup);
CgroupLayout detect_cgroups();  // this process

struct CgroupLimits {
  std::uint64_t memory_bytes = 0;  // 0: no limit
  std::uint64_t pids = 0;          // 0: no limit
};

// One environment's cgroup (a directory per v1 hierarchy, or one for v2).
// The files read or written at every invoke (the freezer's, the peak
// memory's) are opened once, at first use, and kept open: a warm invoke
// costs a write and a read, not three opens by path.
class CgroupEnv {
 public:
  CgroupEnv() = default;
  CgroupEnv(CgroupEnv&&) noexcept = default;
  CgroupEnv& operator=(CgroupEnv&&) noexcept = default;
  // The files a new child joins its cgroups by, opened: it writes "0" to
  // each, first thing. Held by the caller until the spawn is over.
  // cgroup v1: each hierarchy's `tasks`. The child has one thread, so
  // moving it moves the process, and a kernel with "cgroup: Optimize
  // single thread migration" (9a3284fad42f) moves a thread writing "0"
  // there without cgroup_threadgroup_rwsem: no RCU grace period. Here the
  // three writes take 0.06 ms where cgroup.procs took 6-9 ms after an idle
  // moment (bench/cgroup-join ... v1). An older kernel moves it as slowly
  // as cgroup.procs, just as correctly.
  // v2 (a kernel without CLONE_INTO_CGROUP): cgroup.procs.
  Result<std::vector<util::Fd>> open_join_files() const;
  // cgroup v2: the directory, opened for clone3's CLONE_INTO_CGROUP (the
  // child starts inside it, no migration).
  Result<util::Fd> open_dir() const;
  int version() const { return version_; }
  // Peak memory of the environment since it was created, if the kernel keeps it.
  std::optional<std::uint64_t> peak_memory() const;
  // How many processes the OOM killer has ended in it.
  std::uint64_t oom_kills() const;
  bool can_freeze() const;
  Result<void> freeze(bool frozen) const;
  bool empty() const { return dirs_.empty(); }
  // Sets the memory limit (and no swap): at creation, or when a pre-made
  // sandbox is given to a function.
  Result<void> limit_memory(std::uint64_t bytes) const;

 private:
  friend class Cgroups;
  // Writes `value` to `file` of the controller's directory (v2: ""); a
  // controller it lacks is skipped, and so is a missing optional file.
  Result<void> set(std::string const& controller, std::string const& file, std::string const& value,
                   bool optional) const;
  int version_ = 0;
  bool freezable_ = false;
  std::map<std::string, std::string> dirs_;  // controller ("" for v2) -> directory
  mutable util::Fd freeze_fd_;  // cgroup.freeze (v2) or freezer.state (v1), O_WRONLY
  mutable util::Fd peak_fd_;    // memory.peak (v2) or memory.max_usage_in_bytes (v1), O_RDONLY
};

class Cgroups {
 public:
  // Creates the daemon's own cgroup lambdad-<pid> (and, on v2, moves the
  // daemon into its leaf), and removes those of daemons that are gone.
  static Result<Cgroups> open(CgroupLayout layout, pid_t self);
  Cgroups() = default;

  int version() const { return layout_.version; }
  bool has(std::string const& controller) const { return layout_.controllers.count(controller) > 0; }
  Result<CgroupEnv> create(std::string const& name, CgroupLimits const& limits);
  // Removes the environment's cgroup once its processes are gone; one still
  // busy is retried by `sweep`.
  void remove(CgroupEnv const& env);
  // Retries the removals that were busy; how many are still left.
  std::size_t sweep();
  // cgroup v1: keeps one empty cgroup frozen (lambdad-<pid>/pin) while the
  // daemon runs. The v1 freezer turns a kernel static key on when the first
  // cgroup freezes and off when the last thaws, and each turn rewrites kernel
  // text on every CPU (text_poke and an IPI to each core: about 100 us, a
  // fifth of a warm invoke's time when one environment froze and thawed per
  // invoke). With one cgroup always frozen the key stays on and a freeze or
  // thaw is a counter. No-op on v2 (its freezer has no such key) and without
  // the freezer controller.
  Result<void> pin_freezer();
  // Removes the daemon's own cgroup (at shutdown, after every environment).
  void close();
  std::vector<std::string> const& cleaned() const { return cleaned_; }

 private:
  std::map<std::string, std::string> bases() const;  // controller -> lambdad-<pid> directory
  CgroupLayout layout_;
  std::string base_name_;
  std::string pin_;  // the frozen empty cgroup of pin_freezer, or ""
  // Directories to rmdir; remove and sweep may be called from more than one
  // thread (the sandbox pool's makes cgroups too).
  std::vector<std::string> pending_;
  std::unique_ptr<std::mutex> pending_lock_ = std::make_unique<std::mutex>();
  std::vector<std::string> cleaned_;  // left by earlier daemons, removed at open
};

}  // namespace lambdad::sandbox
