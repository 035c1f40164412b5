#include "rootfs.hpp"
#include "util/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

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
// /etc without the overlay: the few files most runtimes read.
std::vector<std::string> const kHostEtc = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl",
                                           "ca-certificates", "ca-certificates.conf", "nsswitch.conf", "localtime",
                                           "protocols", "services", "mime.types", "os-release"};
// The sandbox writes these itself; an image's copies are not taken.
std::set<std::string> const kMine = {"passwd", "group", "hosts", "resolv.conf", "hostname"};
// Never readable by a function, where they exist (besides /etc/ssh's
// private keys and the daemon's configuration, see hidden_etc).
std::vector<std::string> const kHiddenEtc = {
    // password hashes, and the host's users (its passwd and group are replaced)
    "shadow", "shadow-", "gshadow", "gshadow-", "passwd-", "group-", "security/opasswd",
    // who may become root
    "sudoers", "sudoers.d",
    // the machine's private keys, keytabs and network passwords
    "ssl/private", "krb5.keytab", "ipsec.secrets", "ppp/chap-secrets", "ppp/pap-secrets", "wireguard",
    "NetworkManager/system-connections", "libvirt/secrets", "letsencrypt",
    // machine-id(5): "confidential, must not be exposed in untrusted
    // environments"; one id shared by every function would track them
    "machine-id",
    // a packaged daemon's configuration (SigV4 keys)
    "lambdad"};

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

// Covers the host path `host` (neither it nor its parents symlinks) at
// `to`: an empty tmpfs nobody may enter, or /dev/null on a nodev mount.
void mask(std::vector<MountOp>& ops, fs::path const& host, std::string const& to) {
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
  if (S_ISDIR(st.st_mode)) ops.push_back({Op::Tmpfs, "", to, "size=4k,mode=0"});
  else ops.push_back({Op::BindRO, "/dev/null", to, ""});
}

std::vector<std::pair<std::string, std::string>> own_etc(RootfsPlan const& p) {
  std::string uid = std::to_string(p.uid), gid = std::to_string(p.gid);
  return {{"passwd", "root:x:0:0:root:/root:/sbin/nologin\n" + p.user + ":x:" + uid + ":" + gid + "::/home/" + p.user +
                         ":/sbin/nologin\n"},
          {"group", "root:x:0:\n" + p.user + ":x:" + gid + ":\n"},
          {"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
          {"hostname", p.hostname + "\n"},
          {"resolv.conf", read_text("/etc/resolv.conf")}};
}

// The path itself and with every symlink resolved: the two names a
// function could reach it by.
std::vector<fs::path> names_of(std::string const& path) {
  std::error_code ec;
  fs::path given = fs::path(path).lexically_normal();
  auto real = fs::weakly_canonical(given, ec);
  if (ec || real == given) return {given};
  return {given, real};
}

// The host's /etc without an overlay, or the image's; then the sandbox's own files.
void plain_etc(std::vector<MountOp>& ops, RootfsPlan const& p) {
  std::string const& r = p.root;
  if (p.image.empty()) {
    for (auto const& name : kHostEtc) take(ops, fs::path("/etc") / name, r + "/etc/" + name);
    for (auto const& rel : hidden_etc(p)) {  // e.g. ssl/private, inside what was bound
      auto top = rel.substr(0, rel.find('/'));
      if (top != rel && std::find(kHostEtc.begin(), kHostEtc.end(), top) != kHostEtc.end())
        mask(ops, "/etc/" + rel, r + "/etc/" + rel);
    }
  } else {
    std::error_code ec;
    for (auto const& e : fs::directory_iterator(fs::path(p.image) / "etc", ec)) {
      auto name = e.path().filename().string();
      bool hidden = std::find(kHiddenEtc.begin(), kHiddenEtc.end(), name) != kHiddenEtc.end();
      if (!kMine.count(name) && !hidden) take(ops, e.path(), r + "/etc/" + name);
    }
  }
  for (auto const& [name, text] : own_etc(p)) ops.push_back({Op::WriteFile, "", r + "/etc/" + name, text});
}

// The daemon's configuration where the host's image shows it (e.g. under
// /usr/local/etc): by its resolved name only, where no symlink can lead a
// mount out of the new root, and not inside a directory already covered.
void hide_in_image(std::vector<MountOp>& ops, RootfsPlan const& p) {
  std::vector<fs::path> paths;
  for (auto const& path : p.hidden) {
    auto real = names_of(path).back();
    auto part = real.begin();
    if (real.is_absolute() && ++part != real.end() &&
        std::find(kHostTop.begin(), kHostTop.end(), part->string()) != kHostTop.end())
      paths.push_back(real);
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> done;
  for (auto const& path : paths) {
    auto s = path.string();
    if (std::any_of(done.begin(), done.end(), [&](auto const& d) { return s == d || s.rfind(d + "/", 0) == 0; }))
      continue;
    std::size_t before = ops.size();
    mask(ops, path, p.root + s);
    if (ops.size() > before) done.push_back(s);
  }
}

Result<void> write_text(fs::path const& path, std::string const& text, mode_t mode) {
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error("create `" + path.string() + "`");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      return errno_error("write `" + path.string() + "`", err);
    }
    done += static_cast<std::size_t>(n);
  }
  int rc = ::fchmod(fd.get(), mode);
  if (rc != 0) return errno_error("chmod `" + path.string() + "`");
  return {};
}

}  // namespace

std::vector<std::string> hidden_etc(RootfsPlan const& p) {
  std::vector<std::string> wanted = kHiddenEtc;
  std::error_code ec;
  // Host keys (ssh_host_*_key); the public halves (*.pub) stay.
  for (auto const& e : fs::directory_iterator("/etc/ssh", ec)) {
    auto name = e.path().filename().string();
    if (name.find("key") != std::string::npos && e.path().extension() != ".pub") wanted.push_back("ssh/" + name);
  }
  for (auto const& path : p.hidden)
    for (auto const& name : names_of(path)) {
      auto rel = name.lexically_relative("/etc").string();
      if (!rel.empty() && rel != "." && rel.rfind("..", 0) != 0) wanted.push_back(rel);
    }
  std::sort(wanted.begin(), wanted.end());
  std::vector<std::string> out;
  for (auto const& rel : wanted) {
    fs::path host = fs::path("/etc") / rel;
    if (fs::symlink_status(host, ec).type() == fs::file_type::not_found || ec) continue;
    // Its parents must be directories of /etc itself: the overlay merges
    // a directory of its top layer only with a directory below.
    bool parents_real = true;
    for (fs::path d = host.parent_path(); d != "/etc" && parents_real; d = d.parent_path())
      parents_real = fs::is_directory(fs::symlink_status(d, ec));
    bool covered = std::any_of(out.begin(), out.end(), [&](auto const& o) { return rel.rfind(o + "/", 0) == 0; });
    if (parents_real && !covered && (out.empty() || out.back() != rel)) out.push_back(rel);
  }
  return out;
}

Result<std::vector<std::string>> write_etc_layer(RootfsPlan const& p) {
  fs::path top = p.etc_layer;
  if (p.etc_layer.find_first_of(":,\\") != std::string::npos)
    return plain_error("`" + p.etc_layer + "` holds ':', ',' or '\\', which overlayfs options cannot take");
  std::error_code ec;
  fs::remove_all(top, ec);
  if (!ec) fs::create_directories(top, ec);
  if (ec) return Error{ec, "make `" + top.string() + "` anew"};
  // Its directories stand for /etc's own in the merged view: same modes.
  auto same_mode = [](fs::path const& dir, fs::path const& like) {
    struct stat st {};
    if (::stat(like.c_str(), &st) == 0) ::chmod(dir.c_str(), st.st_mode & 07777);
  };
  same_mode(top, "/etc");
  for (auto const& [name, text] : own_etc(p))
    if (auto w = write_text(top / name, text, 0644); !w) return w.error();
  auto hidden = hidden_etc(p);
  for (auto const& rel : hidden) {
    fs::path dir = top;
    fs::path rel_path(rel);
    for (auto const& part : rel_path.parent_path()) {
      dir /= part;
      if (!fs::is_directory(dir, ec) && !fs::create_directory(dir, ec)) return Error{ec, "create `" + dir.string() + "`"};
      same_mode(dir, fs::path("/etc") / dir.lexically_relative(top));
    }
    // A file of the top layer hides what is below it, directory or not.
    if (auto w = write_text(top / rel, "", 0); !w) return w.error();
  }
  return hidden;
}

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
  // /etc: one overlay mount, the host's /etc under the sandbox's top layer.
  if (p.image.empty() && !p.etc_layer.empty())
    ops.push_back({Op::Overlay, "", r + "/etc", "lowerdir=" + p.etc_layer + ":/etc"});
  else
    plain_etc(ops, p);
  if (p.image.empty()) hide_in_image(ops, p);

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
