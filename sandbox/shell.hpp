// Pre-made sandbox shells, the parent's side. A shell is a spawned
// lambdad-init in `-w` mode: its namespaces, cgroup and root filesystem are
// made and it waits, still privileged inside them, for an order (see
// shell_order.h) that names one function's code, layers, /tmp size,
// environment and identity. The function-specific mounts travel as
// detached mount descriptors made here, where the host paths are visible;
// the shell moves them into place, drops to the sandbox user and starts the
// bootstrap as lambdad-init always does.
#pragma once

#include "process.hpp"

#include "util/fd.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::sandbox {

// A read-only, nosuid, nodev detached copy of the tree at `path`
// (open_tree OPEN_TREE_CLONE, then mount_setattr).
Result<util::Fd> detached_bind(std::string const& path);
// A detached read-only overlay of `layers` (the first at the bottom, as
// Lambda stacks them). Each is named by an open descriptor
// (/proc/self/fd/N): fsconfig takes a string of at most 255 bytes, less than
// three layers' paths.
Result<util::Fd> detached_overlay(std::vector<std::filesystem::path> const& layers);

struct ShellOrder {
  std::vector<std::string> argv;  // the bootstrap's, argv[0] its path inside the sandbox
  std::vector<std::string> companions;
  std::vector<std::string> env;
  std::string cwd = "/var/task";
  std::optional<Identity> identity;
  bool drop_capabilities = true;
  bool no_new_privs = true;
  // A system-call filter for the shell to install last (needs no_new_privs).
  sock_fprog const* seccomp = nullptr;
  std::uint32_t tmp_mb = 512;
  // Borrowed descriptors: the output pipe's write end, the status pipe's
  // write end, and the detached mounts (opt and runtime may be -1).
  int out_fd = -1;
  int status_fd = -1;
  int task_mount = -1;
  int opt_mount = -1;
  int runtime_mount = -1;
};

// The order as the shell reads it, or why a shell cannot take it (more
// arguments, extensions or variables than it reads, or past
// LAMBDAD_ORDER_MAX_BYTES). A string ends at its first NUL, as exec sees it.
Result<std::string> order_bytes(ShellOrder const& order);

// Sends the order over the shell's control socket (the daemon's end of the
// socket pair whose other end is the shell's descriptor 3). An order past
// LAMBDAD_ORDER_MAX_BYTES is refused here, before anything is sent.
Result<void> send_order(int control, ShellOrder const& order);

}  // namespace lambdad::sandbox
