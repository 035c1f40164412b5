// What this machine offers the sandbox, found by trying: namespaces (a
// throwaway child cloned into them), overlayfs (/proc/filesystems), cgroups
// (sandbox/cgroup.hpp). For `lambdad doctor` and the daemon's start-up log.
#pragma once

#include "cgroup.hpp"
#include "seccomp.hpp"

#include <memory>
#include <string>
#include <vector>

namespace lambdad::sandbox {

struct Feature {
  std::string name;
  bool available = false;
  std::string detail;  // what it is, or why it is missing and what follows
};

struct Capabilities {
  bool root = false;
  bool namespaces = false;       // mount, pid, ipc, uts
  bool user_namespaces = false;
  bool overlayfs = false;
  // open_tree and mount_setattr (Linux 5.12): what pre-made sandboxes are
  // given their function's mounts by.
  bool detached_mounts = false;
  CgroupLayout cgroups;
  // The environments' system-call filter, built once here (none: this
  // kernel applies none, or it could not be built; `features` says why).
  std::shared_ptr<SeccompFilter const> seccomp;
  std::vector<Feature> features;  // in the order to print
};

Capabilities probe();

}  // namespace lambdad::sandbox
