// The root filesystem of an environment, as plain data: the mount ops that
// build it on a tmpfs at `root` (the caller's empty mount point, seen only
// in the environment's own mount namespace), before pivot_root makes it
// `/`. What is in it:
//   /usr, /bin, /lib*, /sbin   the image, read-only: the host's by default
//                              (symlinks stay symlinks), or every top-level
//                              directory of `image` (--rootfs DIR)
//   /etc                       the host's, read-only, through an overlay
//                              whose top layer (`etc_layer`) holds the
//                              sandbox's passwd, group, hosts, hostname and
//                              resolv.conf, and an empty file of mode 0 for
//                              each entry a function must not read
//                              (`hidden_etc`). Without the overlay, a few
//                              files of the host's /etc; with --rootfs, the
//                              image's. Either way the sandbox's own five.
//   /home/<user>               exists, not writable (as on Lambda)
//   /proc                      of the environment's pid namespace
//   /dev                       null zero full random urandom, fd stdin stdout stderr
//   /opt /var/task /var/runtime /tmp   mount points the caller fills
// Paths of the host image outside /etc that must stay hidden (the daemon's
// configuration) are covered: a directory by an empty tmpfs of mode 0, a
// file by /dev/null on a nodev mount (open fails with EACCES).
// The caller appends its own mounts under `root`, then `finish_op` makes
// the root read-only. Built in the parent: it may read the host.
#pragma once

#include "process.hpp"

#include "util/result.hpp"

#include <string>
#include <vector>

namespace lambdad::sandbox {

struct RootfsPlan {
  std::string root;   // host path of the (empty) mount point
  std::string image;  // empty: the host's /usr, /bin, /lib*; else a root filesystem directory
  std::string user = "sbx_user1051";
  uid_t uid = 993;
  gid_t gid = 990;
  std::string hostname = "lambdad-sandbox";
  // A host directory for the top layer of /etc, made by write_etc_layer;
  // empty: no overlay (a few files of /etc bound one by one).
  std::string etc_layer;
  // More host paths to hide, wherever they are (the daemon's configuration).
  std::vector<std::string> hidden;
};

// What the host's /etc keeps out of reach (paths under /etc, each hidden
// where it exists): password hashes, sudo rules, private keys and
// credentials of the machine, the daemon's configuration.
std::vector<std::string> hidden_etc(RootfsPlan const& plan);

// Makes plan.etc_layer anew (removing what was there): the sandbox's own
// files and an empty file of mode 0 for each hidden entry. Returns the
// entries hidden (relative to /etc), for the log.
Result<std::vector<std::string>> write_etc_layer(RootfsPlan const& plan);

std::vector<MountOp> rootfs_ops(RootfsPlan const& plan);
// Last: the root tmpfs becomes read-only (mounts under it keep their own flags).
MountOp finish_op(std::string const& root);

}  // namespace lambdad::sandbox
