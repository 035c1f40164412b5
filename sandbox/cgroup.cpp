#include "cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lambdad::sandbox {

namespace fs = std::filesystem;

namespace {

std::string cgroup_text(std::string const& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool exists(std::string const& path) { return ::access(path.c_str(), F_OK) == 0; }

Result<void> write_text(std::string const& path, std::string const& value) {
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_error("open `" + path + "`");
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  int err = errno;
  if (n != static_cast<ssize_t>(value.size())) return errno_error("write `" + value + "` to `" + path + "`", err);
  return {};
}

// "key value" lines (memory.events, memory.oom_control).
std::optional<std::uint64_t> keyed(std::string const& path, std::string const& key) {
  std::istringstream in(cgroup_text(path));
  std::string k;
  std::uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

std::vector<std::string> split(std::string const& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// A mount's directory for the cgroup `path` (as /proc/self/cgroup gives it),
// given the mount's root within the hierarchy.
std::string dir_of(std::string const& mount_point, std::string const& mount_root, std::string const& path) {
  std::string rel = path;
  if (mount_root != "/" && rel.rfind(mount_root, 0) == 0) rel = rel.substr(mount_root.size());
  if (rel == "/") rel.clear();
  return mount_point + rel;
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Ends whatever is still in `dir` and removes it and its children. A frozen
// process takes no signal: the cgroup is thawed first, and the kill given a
// moment (up to ~1 s) to take the processes out before the rmdir.
bool remove_tree(std::string const& dir) {
  std::error_code ec;
  for (auto const& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) remove_tree(e.path().string());
  if (exists(dir + "/freezer.state")) (void)write_text(dir + "/freezer.state", "THAWED");
  if (exists(dir + "/cgroup.freeze")) (void)write_text(dir + "/cgroup.freeze", "0");
  std::istringstream procs(cgroup_text(dir + "/cgroup.procs"));
  pid_t pid;
  bool killed = false;
  while (procs >> pid) killed = ::kill(pid, SIGKILL) == 0 || killed;
  for (int i = 0; i < 100; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY || !killed) return false;
    ::usleep(10000);
  }
  return false;
}

}  // namespace

CgroupLayout detect_cgroups(std::string const& mountinfo, std::string const& self_cgroup) {
  CgroupLayout out;
  // The daemon's cgroup per hierarchy: "4:memory:/a/b", "0::/a/b".
  std::map<std::string, std::string> own;  // controller ("" for v2) -> path
  std::istringstream cg(self_cgroup);
  std::string line;
  while (std::getline(cg, line)) {
    auto parts = split(line, ':');
    if (parts.size() < 3) continue;
    std::string path = line.substr(parts[0].size() + parts[1].size() + 2);
    if (parts[1].empty()) own[""] = path;
    for (auto const& c : split(parts[1], ',')) own[c] = path;
  }
  std::string unified_mount, unified_root;
  std::map<std::string, std::pair<std::string, std::string>> v1;  // controller -> (mount point, root)
  std::istringstream mi(mountinfo);
  while (std::getline(mi, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    if (right[0] == "cgroup2") {
      unified_mount = left[4];
      unified_root = left[3];
    } else if (right[0] == "cgroup") {
      for (auto const& opt : split(right[2], ','))
        if (opt == "memory" || opt == "pids" || opt == "freezer") v1[opt] = {left[4], left[3]};
    }
  }
  if (!unified_mount.empty() && own.count("")) {
    std::string dir = dir_of(unified_mount, unified_root, own[""]);
    auto controllers = split(cgroup_text(dir + "/cgroup.controllers"), ' ');
    std::set<std::string> have;
    for (auto c : controllers) {
      while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
      if (c == "memory" || c == "pids") have.insert(c);
    }
    if (have.count("memory")) {
      out.version = 2;
      out.unified = dir;
      out.controllers = have;
      // Non-root cgroups have cgroup.freeze where the kernel can freeze (5.2+).
      if (exists(dir + "/cgroup.freeze") || dir == unified_mount) out.controllers.insert("freezer");
      if (!have.count("pids")) out.notes.push_back("cgroup v2: the pids controller is not delegated: no pids limit");
      return out;
    }
    out.notes.push_back("cgroup v2 is mounted at " + unified_mount + " but offers no memory controller to " + dir);
  }
  if (v1.count("memory")) {
    out.version = 1;
    for (auto const& [c, mount] : v1) {
      if (!own.count(c)) continue;
      out.v1[c] = dir_of(mount.first, mount.second, own[c]);
      out.controllers.insert(c);
    }
    for (char const* c : {"pids", "freezer"})
      if (!out.controllers.count(c)) out.notes.push_back(std::string("cgroup v1: no ") + c + " hierarchy mounted");
    return out;
  }
  out.notes.push_back("no usable cgroup memory controller (v1 or v2): no memory limit, Max Memory Used from /proc");
  return out;
}

CgroupLayout detect_cgroups() {
  return detect_cgroups(cgroup_text("/proc/self/mountinfo"), cgroup_text("/proc/self/cgroup"));
}

Result<util::Fd> CgroupEnv::open_dir() const {
  auto it = dirs_.find("");
  if (version_ != 2 || it == dirs_.end()) return plain_error("not a cgroup v2 environment");
  util::Fd fd(::open(it->second.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open `" + it->second + "`");
  return fd;
}

Result<std::vector<util::Fd>> CgroupEnv::open_join_files() const {
  std::vector<util::Fd> fds;
  char const* file = version_ == 1 ? "/tasks" : "/cgroup.procs";
  for (auto const& [c, dir] : dirs_) {
    util::Fd fd(::open((dir + file).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno_error("open `" + dir + file + "`");
    fds.push_back(std::move(fd));
  }
  return fds;
}

namespace {

// Opens the file `path()` names into `fd` unless it is open already; false
// when it cannot be (a file this kernel lacks: tried again next time).
// `path` is called only to open, so a warm invoke builds no string.
template <class Path>
bool open_once(util::Fd& fd, Path const& path, int flags) {
  if (!fd) fd.reset(::open(path().c_str(), flags | O_CLOEXEC, 0644));
  return static_cast<bool>(fd);
}

}  // namespace

std::optional<std::uint64_t> CgroupEnv::peak_memory() const {
  auto it = dirs_.find(version_ == 2 ? "" : "memory");
  if (it == dirs_.end()) return std::nullopt;
  auto path = [&] { return it->second + (version_ == 2 ? "/memory.peak" : "/memory.max_usage_in_bytes"); };
  if (!open_once(peak_fd_, path, O_RDONLY)) return std::nullopt;
  char buf[32];
  ssize_t n = ::pread(peak_fd_.get(), buf, sizeof buf - 1, 0);
  if (n <= 0 || buf[0] < '0' || buf[0] > '9') return std::nullopt;
  buf[n] = '\0';
  return std::strtoull(buf, nullptr, 10);
}

std::uint64_t CgroupEnv::oom_kills() const {
  auto it = dirs_.find(version_ == 2 ? "" : "memory");
  if (it == dirs_.end()) return 0;
  if (version_ == 2) return keyed(it->second + "/memory.events", "oom_kill").value_or(0);
  return keyed(it->second + "/memory.oom_control", "oom_kill").value_or(0);
}

bool CgroupEnv::can_freeze() const { return freezable_; }

Result<void> CgroupEnv::freeze(bool frozen) const {
  auto path = [this] {
    return version_ == 2 ? dirs_.at("") + "/cgroup.freeze" : dirs_.at("freezer") + "/freezer.state";
  };
  std::string_view value = version_ == 2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  // O_CREAT as write_text: the unit tests' fake trees start without the file.
  // errno is taken before the message's path is built.
  if (!open_once(freeze_fd_, path, O_WRONLY | O_CREAT)) {
    int err = errno;
    return errno_error("open `" + path() + "`", err);
  }
  if (::pwrite(freeze_fd_.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size())) {
    int err = errno;
    return errno_error("write `" + std::string(value) + "` to `" + path() + "`", err);
  }
  return {};
}

std::map<std::string, std::string> Cgroups::bases() const {
  std::map<std::string, std::string> out;
  if (layout_.version == 2) out[""] = layout_.unified + "/" + base_name_;
  for (auto const& [c, dir] : layout_.v1) out[c] = dir + "/" + base_name_;
  return out;
}

Result<Cgroups> Cgroups::open(CgroupLayout layout, pid_t self) {
  Cgroups cg;
  cg.layout_ = std::move(layout);
  cg.base_name_ = "lambdad-" + std::to_string(self);
  if (cg.layout_.version == 0) return cg;
  // Leftovers of daemons that are gone.
  std::vector<std::string> parents;
  if (cg.layout_.version == 2) parents.push_back(cg.layout_.unified);
  for (auto const& [c, dir] : cg.layout_.v1) parents.push_back(dir);
  for (auto const& parent : parents) {
    std::error_code ec;
    for (auto const& e : fs::directory_iterator(parent, ec)) {
      auto name = e.path().filename().string();
      if (!e.is_directory() || name.rfind("lambdad-", 0) != 0 || name == cg.base_name_) continue;
      pid_t owner = static_cast<pid_t>(std::strtol(name.c_str() + 8, nullptr, 10));
      if (pid_alive(owner)) continue;
      if (remove_tree(e.path().string())) cg.cleaned_.push_back(e.path().string());
    }
  }
  for (auto const& [c, dir] : cg.bases()) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create cgroup `" + dir + "`");
  }
  if (cg.layout_.version == 2) {
    // No internal processes: the daemon leaves lambdad-<pid> for a leaf, then
    // the controllers can be enabled for the environments beside it.
    std::string base = cg.bases().at("");
    std::string leaf = base + "/daemon";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create cgroup `" + leaf + "`");
    if (auto r = write_text(leaf + "/cgroup.procs", std::to_string(self)); !r) return r.error();
    std::string enable;
    for (auto const& c : cg.layout_.controllers)
      if (c != "freezer") enable += (enable.empty() ? "+" : " +") + c;
    // The daemon's own cgroup must pass the controllers down too.
    auto own_sub = write_text(cg.layout_.unified + "/cgroup.subtree_control", enable);
    if (!own_sub) return own_sub.error();
    if (auto r = write_text(base + "/cgroup.subtree_control", enable); !r) return r.error();
  }
  return cg;
}

Result<CgroupEnv> Cgroups::create(std::string const& name, CgroupLimits const& limits) {
  CgroupEnv env;
  env.version_ = layout_.version;
  env.freezable_ = has("freezer");  // v2: detect_cgroups saw cgroup.freeze
  if (layout_.version == 0) return env;
  for (auto const& [c, base] : bases()) {
    std::string dir = base + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      auto err = errno_error("create cgroup `" + dir + "`");
      remove(env);
      return err;
    }
    env.dirs_[c] = dir;
  }
  std::vector<Result<void>> results;
  if (limits.memory_bytes) results.push_back(env.limit_memory(limits.memory_bytes));
  if (limits.pids && has("pids")) results.push_back(env.set(layout_.version == 2 ? "" : "pids", "pids.max",
                                                            std::to_string(limits.pids), false));
  for (auto const& r : results)
    if (!r) {
      auto err = r.error();
      remove(env);
      return err;
    }
  return env;
}

Result<void> CgroupEnv::set(std::string const& controller, std::string const& file, std::string const& value,
                            bool optional) const {
  auto it = dirs_.find(controller);
  if (it == dirs_.end()) return {};
  std::string path = it->second + "/" + file;
  if (optional && !exists(path)) return {};
  return write_text(path, value);
}

Result<void> CgroupEnv::limit_memory(std::uint64_t bytes) const {
  std::string value = std::to_string(bytes);
  if (version_ == 2) {
    if (auto r = set("", "memory.max", value, false); !r) return r;
    return set("", "memory.swap.max", "0", true);
  }
  if (version_ != 1) return {};
  // The limit first: memory + swap may never be below it. With swap
  // accounting, both at one limit means no swap.
  if (auto r = set("memory", "memory.limit_in_bytes", value, false); !r) return r;
  if (auto r = set("memory", "memory.memsw.limit_in_bytes", value, true); !r) return r;
  return set("memory", "memory.swappiness", "0", true);
}

void Cgroups::remove(CgroupEnv const& env) {
  std::lock_guard lock(*pending_lock_);
  env.freeze_fd_.reset();
  env.peak_fd_.reset();
  for (auto const& [c, dir] : env.dirs_)
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) pending_.push_back(dir);
}

std::size_t Cgroups::sweep() {
  std::lock_guard lock(*pending_lock_);
  std::vector<std::string> still;
  for (auto const& dir : pending_)
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) still.push_back(dir);
  pending_ = std::move(still);
  return pending_.size();
}

Result<void> Cgroups::pin_freezer() {
  if (layout_.version != 1 || !has("freezer") || !pin_.empty()) return {};
  std::string dir = bases().at("freezer") + "/pin";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create cgroup `" + dir + "`");
  if (auto r = write_text(dir + "/freezer.state", "FROZEN"); !r) {
    ::rmdir(dir.c_str());
    return r.error();
  }
  pin_ = dir;
  return {};
}

void Cgroups::close() {
  if (layout_.version == 0) return;
  if (!pin_.empty()) {
    (void)write_text(pin_ + "/freezer.state", "THAWED");
    ::rmdir(pin_.c_str());
    pin_.clear();
  }
  sweep();
  for (auto const& [c, dir] : bases()) {
    if (layout_.version == 2) {
      // Back to where the daemon started, so that lambdad-<pid> can go.
      (void)write_text(layout_.unified + "/cgroup.procs", std::to_string(::getpid()));
      ::rmdir((dir + "/daemon").c_str());
    }
    ::rmdir(dir.c_str());
  }
}

}  // namespace lambdad::sandbox
