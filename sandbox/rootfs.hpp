// The root filesystem of an environment, as plain data: the mount ops that
// build it on a tmpfs at `root` (the caller's empty mount point, seen only
// in the environment's own mount namespace), before pivot_root makes it
// `/`. What is in it:
//   /usr, /bin, /lib*, /sbin   the image, read-only: the host's by default
//                              (symlinks stay symlinks), or every top-level
//                              directory of `image` (--rootfs DIR)
//   /etc                       a few files of the image's /etc, read-only,
//                              with passwd/group naming the sandbox user,
//                              hosts and the host's resolv.conf
//   /home/<user>               exists, not writable (as on Lambda)
//   /proc                      of the environment's pid namespace
//   /dev                       null zero full random urandom, fd stdin stdout stderr
//   /opt /var/task /var/runtime /tmp   mount points the caller fills
// The caller appends its own mounts under `root`, then `finish_op` makes
// the root read-only. Built in the parent: it may read the host.
#pragma once

#include "process.hpp"

#include <string>
#include <vector>

namespace lambdad::sandbox {

struct RootfsPlan {
  std::string root;   // host path of the (empty) mount point
  std::string image;  // empty: the host's /usr, /bin, /lib*; else a root filesystem directory
  std::string user = "sbx_user1051";
  uid_t uid = 993;
  gid_t gid = 990;
};

std::vector<MountOp> rootfs_ops(RootfsPlan const& plan);
// Last: the root tmpfs becomes read-only (mounts under it keep their own flags).
MountOp finish_op(std::string const& root);

}  // namespace lambdad::sandbox
