// The system-call filter every environment runs under: a short list of
// refusals modeled on Docker's default profile (moby's
// profiles/seccomp/default.json), written as a deny list so that any
// runtime's ordinary calls pass untouched. A refused call fails with EPERM,
// as the kernel answers a caller without the privilege; clone3 fails with
// ENOSYS instead (a filter cannot read its flags, which are in memory), so
// that libc falls back to clone, whose flags it can read. Built once with
// libseccomp; installed in the child after no_new_privs, as the last step
// before exec.
#pragma once

#include "util/result.hpp"

#include <linux/filter.h>

#include <memory>
#include <string>
#include <vector>

namespace lambdad::sandbox {

// One group of refusals, for building the filter, the README, `lambdad
// doctor` and the tests.
struct Refusal {
  enum class When {
    Always,            // EPERM
    NamespaceFlags,    // EPERM when the flags (argument 0) ask for a new namespace
    PersonalityOther,  // EPERM for any persona but Docker's five (Linux, UNAME26, their 32-bit, the query)
    Enosys,            // ENOSYS
  };
  When when;
  std::vector<char const*> calls;  // by name; a name this architecture lacks is skipped
  char const* why;
};
std::vector<Refusal> const& refusals();

class SeccompFilter {
 public:
  // The compiled program (classic BPF) for the native architecture and, on
  // x86-64, its 32-bit and x32 ABIs too: a 32-bit binary runs under the
  // same rules instead of being killed.
  static Result<std::shared_ptr<SeccompFilter const>> build();

  sock_fprog const* program() const { return &prog_; }
  std::size_t size() const { return insns_.size(); }  // instructions

 private:
  std::vector<sock_filter> insns_;
  sock_fprog prog_{};
};

// Whether this kernel applies seccomp filters that answer with an errno.
bool kernel_has_seccomp_filters();

// For a child between fork and exec (one system call, async-signal-safe):
// installs `prog` on the calling thread. Needs no_new_privs (or
// CAP_SYS_ADMIN). 0, or -1 with errno.
int install_filter(sock_fprog const* prog) noexcept;

}  // namespace lambdad::sandbox
