// clone3 with CLONE_VM | CLONE_VFORK, as posix_spawn clones: the child runs
// in the caller's memory on a stack of its own until it execs or exits, and
// the calling thread waits meanwhile. No page table is copied, and the
// daemon's other threads take no copy-on-write fault afterwards (a fork
// write-protects every private page of the daemon: each thread's next write
// to each page faults and copies it). Only where a trampoline exists
// (x86-64) and not under AddressSanitizer (its runtime does not follow a
// child onto a stack it did not make).
#pragma once

#include <linux/sched.h>

namespace lambdad::sandbox {

// Whether shared_clone can be used here.
bool can_share_memory();
// Runs fn(arg) in a child made by clone3(args + CLONE_VM | CLONE_VFORK) on
// this thread's spawn stack (args' stack fields are set here); fn must not
// return. Returns the child's pid, or -1 with errno, once the child has
// exec'd or exited. The caller blocks signals around it (a handler run in
// the child would run on the daemon's memory) and the child restores them.
long shared_clone(clone_args& args, void (*fn)(void*), void* arg);

}  // namespace lambdad::sandbox
