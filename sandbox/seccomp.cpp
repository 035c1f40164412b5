#include "seccomp.hpp"

#include "util/fd.hpp"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lambdad::sandbox {

std::vector<Refusal> const& refusals() {
  using W = Refusal::When;
  static std::vector<Refusal> const table = {
      {W::Always,
       {"mount", "umount2", "umount", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr"},
       "mounts and roots: the environment's filesystem is made before its code runs"},
      {W::Always, {"unshare", "setns"}, "new namespaces (a user namespace above all) and joining other ones"},
      {W::NamespaceFlags, {"clone"}, "clone into new namespaces (CLONE_NEWUSER, NEWNS, NEWPID, NEWNET, ...)"},
      {W::Enosys, {"clone3"}, "clone3, whose flags a filter cannot see: ENOSYS, and libc falls back to clone"},
      {W::Always, {"keyctl", "add_key", "request_key"}, "the kernel's keyrings, which are not namespaced"},
      {W::Always, {"bpf", "perf_event_open", "userfaultfd"}, "eBPF, performance counters, userfaultfd"},
      {W::Always,
       {"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
        "query_module", "get_kernel_syms"},
       "kernel modules and kexec"},
      {W::Always, {"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp"},
       "tracing and reading other processes, as on Lambda (strace does not run there either)"},
      {W::PersonalityOther, {"personality"},
       "personas but Linux and UNAME26 (no ADDR_NO_RANDOMIZE, no READ_IMPLIES_EXEC)"},
      {W::Always,
       {"acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "stime", "quotactl", "quotactl_fd",
        "lookup_dcookie", "nfsservctl", "iopl", "ioperm", "open_by_handle_at", "vhangup", "syslog", "uselib",
        "vm86", "vm86old", "fanotify_init"},
       "the host's administration: clocks, swap, reboot, accounting, quotas, I/O ports, file handles, the kernel log"},
  };
  return table;
}

namespace {

struct Ctx {
  scmp_filter_ctx c = nullptr;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

Error lib_error(int rc, std::string const& what) { return errno_error("seccomp: " + what, -rc); }

// A masked comparison of the first argument: (arg0 & mask) == value.
// libseccomp's SCMP_A0 macro is a C compound literal, an extension in C++.
scmp_arg_cmp arg0_masked_eq(std::uint64_t mask, std::uint64_t value) {
  return scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, mask, value};
}

// Clone's namespace flags: one rule each (a filter ORs rules, and ANDs the
// comparisons inside one; libseccomp allows one comparison per argument).
constexpr std::uint64_t kNamespaceFlags[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP};

// Docker's allowed personas are 0, 0x8 (UNAME26), 0x20000, 0x20008 and
// 0xffffffff (the query). The kernel reads the low 32 bits, and so do these
// rules: a persona is refused when it has a bit other than 3 and 17 with bit
// 31 clear, or bit 31 with some other bit clear (anything with bit 31 but the
// query), each a single masked comparison.
Result<void> add_personality(scmp_filter_ctx c, int nr) {
  auto add = [&](scmp_arg_cmp cmp) -> Result<void> {
    int rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), nr, 1, cmp);
    if (rc != 0) return lib_error(rc, "add the rule for personality");
    return {};
  };
  std::uint64_t const top = 1ULL << 31;
  for (int bit = 0; bit < 31; ++bit) {
    std::uint64_t b = 1ULL << bit;
    if (bit != 3 && bit != 17)
      if (auto r = add(arg0_masked_eq(b | top, b)); !r) return r;
    if (auto r = add(arg0_masked_eq(b | top, top)); !r) return r;
  }
  return {};
}

Result<void> add_rules(scmp_filter_ctx c, Refusal const& r) {
  using W = Refusal::When;
  for (char const* name : r.calls) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = 0;
    switch (r.when) {
      case W::Always: rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), nr, 0); break;
      case W::Enosys: rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), nr, 0); break;
      case W::NamespaceFlags:
        for (auto flag : kNamespaceFlags)
          if ((rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), nr, 1, arg0_masked_eq(flag, flag))) != 0)
            break;
        break;
      case W::PersonalityOther:
        if (auto added = add_personality(c, nr); !added) return added;
        break;
    }
    // A call libseccomp knows by name but cannot filter on one of the added
    // ABIs (a pseudo-syscall there) is skipped; anything else is an error.
    if (rc != 0 && rc != -EDOM) return lib_error(rc, std::string("add the rule for ") + name);
  }
  return {};
}

Result<std::vector<sock_filter>> export_program(scmp_filter_ctx c) {
  util::Fd mem(::memfd_create("lambdad-seccomp", MFD_CLOEXEC));
  if (!mem) return errno_error("create a memfd for the seccomp program");
  if (int rc = seccomp_export_bpf(c, mem.get()); rc != 0) return lib_error(rc, "export the program");
  off_t bytes = ::lseek(mem.get(), 0, SEEK_END);
  if (bytes <= 0 || bytes % sizeof(sock_filter) != 0 || bytes > BPF_MAXINSNS * off_t(sizeof(sock_filter)))
    return plain_error("seccomp: the exported program has " + std::to_string(bytes) + " bytes");
  std::vector<sock_filter> insns(static_cast<std::size_t>(bytes) / sizeof(sock_filter));
  if (::pread(mem.get(), insns.data(), static_cast<std::size_t>(bytes), 0) != bytes)
    return errno_error("read the seccomp program back");
  return insns;
}

}  // namespace

Result<std::shared_ptr<SeccompFilter const>> SeccompFilter::build() {
  Ctx ctx;
  ctx.c = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx.c) return plain_error("seccomp: cannot make a filter context");
  // no_new_privs is set by the spawn itself, so the filter must not.
  if (int rc = seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_NNP, 0); rc != 0) return lib_error(rc, "leave no_new_privs");
  if (seccomp_arch_native() == SCMP_ARCH_X86_64)
    for (auto arch : {SCMP_ARCH_X86, SCMP_ARCH_X32})
      if (int rc = seccomp_arch_add(ctx.c, arch); rc != 0 && rc != -EEXIST) return lib_error(rc, "add an ABI");
  for (auto const& r : refusals())
    if (auto added = add_rules(ctx.c, r); !added) return added.error();
  auto insns = export_program(ctx.c);
  if (!insns) return insns.error();
  auto f = std::shared_ptr<SeccompFilter>(new SeccompFilter());
  f->insns_ = std::move(*insns);
  f->prog_.len = static_cast<unsigned short>(f->insns_.size());
  f->prog_.filter = f->insns_.data();
  return std::shared_ptr<SeccompFilter const>(std::move(f));
}

bool kernel_has_seccomp_filters() {
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return false;  // no CONFIG_SECCOMP
  std::uint32_t action = SECCOMP_RET_ERRNO;
  return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

int install_filter(sock_fprog const* prog) noexcept {
  return static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog));
}

}  // namespace lambdad::sandbox
