#include "shell.hpp"

extern "C" {
#include "shell_order.h"
}

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lambdad::sandbox {

namespace {

Result<void> make_read_only(int fd, std::string const& what) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
    return errno_error("make the mount of `" + what + "` read-only");
  return {};
}

// Up to its first NUL, as exec would see it.
void append(std::string& out, std::string const& s) {
  out.append(s.c_str());
  out.push_back('\0');
}

}  // namespace

Result<util::Fd> detached_bind(std::string const& path) {
  util::Fd fd(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC)));
  if (!fd) return errno_error("clone the tree of `" + path + "`");
  if (auto ro = make_read_only(fd.get(), path); !ro) return ro.error();
  return fd;
}

Result<util::Fd> detached_overlay(std::vector<std::filesystem::path> const& layers) {
  std::vector<util::Fd> dirs;
  std::string lower;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    util::Fd dir(::open(it->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return errno_error("open the layer `" + it->string() + "`");
    lower += (lower.empty() ? "" : ":") + std::string("/proc/self/fd/") + std::to_string(dir.get());
    dirs.push_back(std::move(dir));
  }
  util::Fd fs(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!fs) return errno_error("open an overlay filesystem");
  if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) != 0 ||
      ::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return errno_error("create the overlay of " + std::to_string(layers.size()) + " layers");
  util::Fd mnt(static_cast<int>(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC,
                                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)));
  if (!mnt) return errno_error("mount the overlay of " + std::to_string(layers.size()) + " layers");
  return mnt;
}

Result<std::string> order_bytes(ShellOrder const& order) {
  if (order.argv.empty() || order.out_fd < 0 || order.status_fd < 0 || order.task_mount < 0)
    return plain_error("a shell order needs a bootstrap, its output and status pipes and /var/task");
  if (order.argv.size() > LAMBDAD_ORDER_MAX_ARGS || order.companions.size() > LAMBDAD_ORDER_MAX_COMPANIONS ||
      order.env.size() > LAMBDAD_ORDER_MAX_ENV)
    return plain_error("more arguments, extensions or variables than a shell takes");
  lambdad_order head{};
  head.magic = LAMBDAD_ORDER_MAGIC;
  if (order.opt_mount >= 0) head.flags |= LAMBDAD_ORDER_OPT;
  if (order.runtime_mount >= 0) head.flags |= LAMBDAD_ORDER_RUNTIME;
  if (order.identity) {
    head.flags |= LAMBDAD_ORDER_IDENTITY;
    head.uid = order.identity->uid;
    head.gid = order.identity->gid;
  }
  if (order.drop_capabilities) head.flags |= LAMBDAD_ORDER_DROP_CAPS;
  if (order.no_new_privs) head.flags |= LAMBDAD_ORDER_NO_NEW_PRIVS;
  if (order.seccomp) {
    if (!order.no_new_privs || order.seccomp->len == 0 || order.seccomp->len > LAMBDAD_ORDER_MAX_FILTER)
      return plain_error("a shell installs a seccomp filter of 1 to 4096 instructions, with no_new_privs");
    head.flags |= LAMBDAD_ORDER_SECCOMP;
    head.filter_len = order.seccomp->len;
  }
  head.tmp_mb = order.tmp_mb;
  head.argc = static_cast<std::uint32_t>(order.argv.size());
  head.companions = static_cast<std::uint32_t>(order.companions.size());
  head.envc = static_cast<std::uint32_t>(order.env.size());
  std::string body(reinterpret_cast<char const*>(&head), sizeof head);
  if (order.seccomp)
    body.append(reinterpret_cast<char const*>(order.seccomp->filter), order.seccomp->len * sizeof(sock_filter));
  append(body, order.cwd);
  for (auto const& v : {&order.argv, &order.companions, &order.env})
    for (auto const& s : *v) append(body, s);
  if (body.size() > LAMBDAD_ORDER_MAX_BYTES)
    return plain_error("the environment's order is " + std::to_string(body.size()) + " bytes, past the shell's " +
                       std::to_string(LAMBDAD_ORDER_MAX_BYTES));
  return body;
}

Result<void> send_order(int control, ShellOrder const& order) {
  auto made = order_bytes(order);
  if (!made) return made.error();
  std::string& body = *made;
  int fds[LAMBDAD_ORDER_MAX_FDS];
  std::size_t nfds = 0;
  for (int fd : {order.out_fd, order.status_fd, order.task_mount, order.opt_mount, order.runtime_mount})
    if (fd >= 0) fds[nfds++] = fd;
  iovec iov{body.data(), body.size()};
  alignas(cmsghdr) char control_buf[CMSG_SPACE(sizeof fds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control_buf;
  msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(control, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(body.size())) return errno_error("send the order to the sandbox shell");
  return {};
}

}  // namespace lambdad::sandbox
