// What the kernel says of an environment's processes, read from /proc and
// sock_diag: the process tree under a pid, a process's peak RSS, and which
// socket a loopback TCP connection is. Plain functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::exec {

// The inode of the TCP socket 127.0.0.1:`local_port` -> 127.0.0.1:`remote_port`
// in this network namespace: one exact sock_diag query (no table scan).
std::optional<std::uint64_t> tcp_socket_inode(std::uint16_t local_port, std::uint16_t remote_port);
// `pid` and its descendants (through /proc/PID/task/*/children), depth-first.
void tree_pids(std::string const& pid, std::vector<std::string>& out, int depth = 0);
// VmHWM of one process in bytes; 0 if it cannot be read.
std::uint64_t vm_hwm_bytes(std::string const& pid);

}  // namespace lambdad::exec
