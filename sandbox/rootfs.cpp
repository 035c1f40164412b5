#include "rootfs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace lambdad::sandbox {

namespace fs = std::filesystem;
using Op = MountOp::Kind;

namespace {

// Top-level directories that are never taken from the image: the sandbox
// makes its own.
std::set<std::string> const kOwn = {"proc", "dev", "tmp", "opt", "var", "home", "etc", "sys", "run", "root",
                                    "mnt", "media", "srv", "boot", "lost+found", "old_root", "work"};
// From the host, only what a runtime needs to run programs and talk TLS.
std::vector<std::string> const kHostTop = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
std::vector<std::string> const kHostEtc = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl",
                                           "ca-certificates", "ca-certificates.conf", "nsswitch.conf", "localtime",
                                           "protocols", "services", "mime.types", "os-release"};

std::string read_text(fs::path const& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// An entry of the image at `to`: symlinks as symlinks, directories and
// files bound read-only.
void take(std::vector<MountOp>& ops, fs::path const& from, std::string const& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = fs::read_symlink(from, ec);
    if (!ec) ops.push_back({Op::Symlink, "", to, target.string()});
  } else if (S_ISDIR(st.st_mode)) {
    ops.push_back({Op::Mkdir, "", to, ""});
    ops.push_back({Op::BindRO, from.string(), to, ""});
  } else if (S_ISREG(st.st_mode)) {
    ops.push_back({Op::Touch, "", to, ""});
    ops.push_back({Op::BindRO, from.string(), to, ""});
  }
}

}  // namespace

std::vector<MountOp> rootfs_ops(RootfsPlan const& p) {
  std::vector<MountOp> ops;
  std::string const& r = p.root;
  ops.push_back({Op::Tmpfs, "", r, "size=1m,mode=0755"});
  for (char const* d : {"/proc", "/dev", "/tmp", "/opt", "/var", "/var/task", "/var/runtime", "/home", "/etc"})
    ops.push_back({Op::Mkdir, "", r + d, ""});
  ops.push_back({Op::Mkdir, "", r + "/home/" + p.user, ""});

  fs::path image = p.image.empty() ? fs::path("/") : fs::path(p.image);
  if (p.image.empty()) {
    for (auto const& top : kHostTop) take(ops, image / top, r + "/" + top);
  } else {
    std::error_code ec;
    for (auto const& e : fs::directory_iterator(image, ec))
      if (!kOwn.count(e.path().filename().string())) take(ops, e.path(), r + "/" + e.path().filename().string());
  }
  // /etc: the image's files a runtime needs (all of them for --rootfs),
  // then the sandbox's own passwd, group, hosts and resolv.conf.
  std::set<std::string> const mine = {"passwd", "group", "hosts", "resolv.conf", "hostname", "shadow", "gshadow"};
  if (p.image.empty()) {
    for (auto const& name : kHostEtc) take(ops, image / "etc" / name, r + "/etc/" + name);
  } else {
    std::error_code ec;
    for (auto const& e : fs::directory_iterator(image / "etc", ec))
      if (!mine.count(e.path().filename().string())) take(ops, e.path(), r + "/etc/" + e.path().filename().string());
  }
  std::string uid = std::to_string(p.uid), gid = std::to_string(p.gid);
  ops.push_back({Op::WriteFile, "", r + "/etc/passwd",
                 "root:x:0:0:root:/root:/sbin/nologin\n" + p.user + ":x:" + uid + ":" + gid + "::/home/" + p.user +
                     ":/sbin/nologin\n"});
  ops.push_back({Op::WriteFile, "", r + "/etc/group", "root:x:0:\n" + p.user + ":x:" + gid + ":\n"});
  ops.push_back({Op::WriteFile, "", r + "/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"});
  ops.push_back({Op::WriteFile, "", r + "/etc/resolv.conf", read_text("/etc/resolv.conf")});

  ops.push_back({Op::Proc, "", r + "/proc", ""});
  ops.push_back({Op::Tmpfs, "", r + "/dev", "size=64k,mode=0755"});
  for (char const* dev : {"null", "zero", "full", "random", "urandom"}) {
    ops.push_back({Op::Touch, "", r + "/dev/" + dev, ""});
    ops.push_back({Op::BindDev, std::string("/dev/") + dev, r + "/dev/" + dev, ""});
  }
  ops.push_back({Op::Symlink, "", r + "/dev/fd", "/proc/self/fd"});
  ops.push_back({Op::Symlink, "", r + "/dev/stdin", "/proc/self/fd/0"});
  ops.push_back({Op::Symlink, "", r + "/dev/stdout", "/proc/self/fd/1"});
  ops.push_back({Op::Symlink, "", r + "/dev/stderr", "/proc/self/fd/2"});
  ops.push_back({Op::RemountRO, "", r + "/dev", ""});
  return ops;
}

MountOp finish_op(std::string const& root) { return {Op::RemountRO, "", root, ""}; }

}  // namespace lambdad::sandbox
