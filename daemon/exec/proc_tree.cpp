#include "proc_tree.hpp"
#include "util/fd.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lambdad::exec {

namespace fs = std::filesystem;

std::optional<std::uint64_t> tcp_socket_inode(std::uint16_t local_port, std::uint16_t remote_port) {
  util::Fd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return std::nullopt;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = AF_INET;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0u;
  msg.req.id.idiag_sport = htons(local_port);
  msg.req.id.idiag_dport = htons(remote_port);
  msg.req.id.idiag_src[0] = htonl(INADDR_LOOPBACK);
  msg.req.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  std::optional<std::uint64_t> inode;
  alignas(nlmsghdr) char buf[4096];
  if (::send(fd.get(), &msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg)) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
      inode = reinterpret_cast<inet_diag_msg*>(NLMSG_DATA(h))->idiag_inode;
  }
  return inode;
}

void tree_pids(std::string const& pid, std::vector<std::string>& out, int depth) {
  out.push_back(pid);
  if (depth > 64) return;
  std::error_code ec;
  for (auto const& task : fs::directory_iterator("/proc/" + pid + "/task", ec)) {
    std::ifstream children(task.path() / "children");
    std::string child;
    while (children >> child) tree_pids(child, out, depth + 1);
  }
}

std::uint64_t vm_hwm_bytes(std::string const& pid) {
  std::ifstream f("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

}  // namespace lambdad::exec
