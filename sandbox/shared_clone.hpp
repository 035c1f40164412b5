// clone3 with CLONE_VM | CLONE_VFORK, as posix_spawn clones: the child runs
// in the caller's memory on a stack of its own until it execs or exits, and
// the calling thread waits meanwhile. No page table is copied, and the
// daemon's other threads take no copy-on-write fault afterwards (a fork
// write-protects every private page of the daemon: each thread's next write
// to each page faults and copies it). Only where a trampoline exists
// (x86-64) and not under AddressSanitizer (its runtime does not follow a
// child onto a stack it did not make), and from Linux 5.16 (before it a
// core dump of the child killed the daemon with it). Caveat: the OOM killer
// ends every process sharing its victim's memory, so an OOM kill of a child
// before its exec would end the daemon; the child allocates next to
// nothing and its cgroup's limit is MemorySize, far above that.
#pragma once

#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>

namespace lambdad::sandbox {

// Whether shared_clone can be used here (x86-64, no sanitizer runtime,
// Linux 5.16 or later).
bool can_share_memory();
// Runs fn(arg) in a child made by clone3(args + CLONE_VM | CLONE_VFORK) on
// this thread's spawn stack (args' stack fields are set here); fn must not
// return. Returns the child's pid, or -1 with errno (ENOSYS: no stack for
// it; spawn as a fork instead), once the child has exec'd or exited. The caller
// blocks signals around it (SignalsBlocked) and the child restores them.
long shared_clone(clone_args& args, void (*fn)(void*), void* arg);

// All signals blocked in the calling thread until restore() (or the end).
// Around a spawn: a handler of the daemon's run in the child (before it
// resets them) would act on the daemon's state, or on its memory itself when
// shared.
struct SignalsBlocked {
  sigset_t old{};
  bool on = false;
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    on = ::pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  }
  void restore() {
    if (on) ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    on = false;
  }
  ~SignalsBlocked() { restore(); }
  SignalsBlocked(SignalsBlocked const&) = delete;
  SignalsBlocked& operator=(SignalsBlocked const&) = delete;
};

// In the child, just before exec (async-signal-safe): every handler of the
// daemon's back to the default, then `mask`.
void restore_signals(sigset_t const* mask);

}  // namespace lambdad::sandbox
