#include "shared_clone.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <cstdint>

namespace lambdad::sandbox {

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LAMBDAD_SANITIZER_RUNTIME 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LAMBDAD_SANITIZER_RUNTIME 1
#endif

#if defined(__x86_64__) && !defined(LAMBDAD_SANITIZER_RUNTIME)
constexpr bool kTrampoline = true;

// The child resumes from the system call with the same registers but its
// stack pointer at the top of the new stack: it must not return into this
// frame, so it calls fn(arg) right there (r12 and r13 survive the syscall).
__attribute__((noinline)) long clone3_call(clone_args* args, void (*fn)(void*), void* arg) {
  register void (*entry)(void*) asm("r12") = fn;
  register void* entry_arg asm("r13") = arg;
  long ret = SYS_clone3;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov $60, %%eax\n\t"  // exit(127), should fn return
      "mov $127, %%edi\n\t"
      "syscall\n\t"
      "ud2\n\t"
      "1:\n\t"
      : "+a"(ret)
      : "D"(args), "S"(sizeof(clone_args)), "r"(entry), "r"(entry_arg)
      : "rcx", "r11", "memory", "cc");
  if (ret < 0) {  // the raw system call's -errno
    errno = static_cast<int>(-ret);
    return -1;
  }
  return ret;
}
#else
constexpr bool kTrampoline = false;
long clone3_call(clone_args*, void (*)(void*), void*) {
  errno = ENOSYS;
  return -1;
}
#endif

// One per thread that spawns, kept: with CLONE_VFORK the thread waits until
// the child no longer uses it. A guard page below.
constexpr std::size_t kStackBytes = 256 * 1024;
struct SpawnStack {
  void* base = nullptr;
  SpawnStack() {
    void* p = ::mmap(nullptr, kStackBytes + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
    if (p == MAP_FAILED) return;
    ::mprotect(p, 4096, PROT_NONE);
    base = p;
  }
  ~SpawnStack() {
    if (base) ::munmap(base, kStackBytes + 4096);
  }
  SpawnStack(SpawnStack const&) = delete;
  SpawnStack& operator=(SpawnStack const&) = delete;
};

// Before Linux 5.16 a core dump of the child ("coredump: Limit coredumps to
// a single thread group") killed every process sharing its memory: the
// daemon too.
bool kernel_confines_core_dumps() {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 16);
}

}  // namespace

bool can_share_memory() {
  static bool const ok = kTrampoline && kernel_confines_core_dumps();
  return ok;
}

long shared_clone(clone_args& args, void (*fn)(void*), void* arg) {
  thread_local SpawnStack stack;
  if (!kTrampoline || !stack.base) {
    errno = ENOSYS;
    return -1;
  }
  args.flags |= CLONE_VM | CLONE_VFORK;
  args.stack = reinterpret_cast<std::uint64_t>(stack.base) + 4096;
  args.stack_size = kStackBytes;
  return clone3_call(&args, fn, arg);
}

void restore_signals(sigset_t const* mask) {
  struct KernelSigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    unsigned long mask;
  };
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction old{};
    if (::syscall(SYS_rt_sigaction, sig, nullptr, &old, sizeof old.mask) != 0) continue;
    if (old.handler == reinterpret_cast<void*>(SIG_DFL) || old.handler == reinterpret_cast<void*>(SIG_IGN)) continue;
    KernelSigaction dfl{};
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, mask, nullptr, sizeof(unsigned long));
}

}  // namespace lambdad::sandbox
