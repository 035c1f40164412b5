#include "watcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lambdad::reload {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr std::size_t kKeptPaths = 10;

// Directories whose changes are not the code's: version control and
// caches of bytecode made from the sources beside them.
bool skipped(fs::path const& dir) {
  auto n = dir.filename().string();
  return n == ".git" || n == "__pycache__";
}

}  // namespace

struct Watcher::Tree {
  Tree(asio::io_context& ioc, std::string d) : dir(std::move(d)), timer(ioc) {}
  std::string dir;
  std::set<std::string> functions;
  std::set<int> wds;
  std::set<std::string> paths;  // the first few changed, relative to the tree
  std::size_t changes = 0;
  std::chrono::steady_clock::time_point first{};
  asio::steady_timer timer;
};

Watcher::Watcher(asio::io_context& ioc, std::chrono::milliseconds quiet, std::chrono::milliseconds longest)
    : ioc_(ioc), quiet_(quiet), longest_(longest), sd_(ioc) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    error_ = std::string("inotify_init1: ") + std::strerror(errno);
    return;
  }
  sd_.assign(fd);
  arm();
}

Watcher::~Watcher() {
  *alive_ = false;
  boost::system::error_code ec;
  sd_.close(ec);
}

Watcher::Tree& Watcher::tree(std::string const& dir) {
  auto& slot = trees_[dir];
  if (!slot) {
    slot = std::make_unique<Tree>(ioc_, dir);
    add_tree(*slot, dir);
  }
  return *slot;
}

void Watcher::watch(std::string const& function, std::set<std::string> const& dirs) {
  if (!error_.empty()) return;
  std::vector<std::string> emptied;
  for (auto& [dir, t] : trees_)
    if (!dirs.count(dir) && t->functions.erase(function) && t->functions.empty()) emptied.push_back(dir);
  for (auto const& dir : emptied) drop_tree(dir);
  for (auto const& dir : dirs) tree(dir).functions.insert(function);
}

bool Watcher::add_one(Tree& t, fs::path const& dir) {
  int wd = ::inotify_add_watch(sd_.native_handle(), dir.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC && !warned_limit_) {
      warned_limit_ = true;
      spdlog::warn("hot reload: the inotify watch limit is reached at {}: changes there are not seen "
                   "(raise fs.inotify.max_user_watches)", dir.string());
    }
    return false;
  }
  wds_[wd][t.dir] = dir;
  t.wds.insert(wd);
  return true;
}

void Watcher::add_tree(Tree& t, fs::path const& dir, bool report) {
  if (!add_one(t, dir)) return;
  std::error_code ec;
  auto opts = fs::directory_options::skip_permission_denied;
  for (auto it = fs::recursive_directory_iterator(dir, opts, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) {
      // A directory just made: what was written in it before its watch.
      if (report) changed(t, it->path().lexically_relative(t.dir).string());
      continue;
    }
    if (skipped(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    add_one(t, it->path());
  }
}

void Watcher::drop_tree(std::string const& dir) {
  auto it = trees_.find(dir);
  if (it == trees_.end()) return;
  for (int wd : it->second->wds) {
    auto w = wds_.find(wd);
    if (w == wds_.end()) continue;
    w->second.erase(dir);
    if (w->second.empty()) {
      ::inotify_rm_watch(sd_.native_handle(), wd);
      wds_.erase(w);
    }
  }
  trees_.erase(it);
}

void Watcher::arm() {
  sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
                   if (alive.expired() || ec) return;
                   drain();
                   arm();
                 });
}

void Watcher::drain() {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(sd_.native_handle(), buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: all read
    for (char* p = buf; p < buf + n;) {
      auto const* ev = reinterpret_cast<inotify_event const*>(p);
      std::string_view name(ev->len ? ev->name : "");
      name = name.substr(0, name.find('\0'));
      handle(*ev, name);
      p += sizeof(inotify_event) + ev->len;
    }
  }
}

void Watcher::handle(inotify_event const& ev, std::string_view name) {
  if (ev.mask & IN_Q_OVERFLOW) {  // events were lost: directories made meanwhile are watched now
    for (auto& [dir, t] : trees_) {
      add_tree(*t, dir);
      changed(*t, "(too many changes to list)");
    }
    return;
  }
  auto w = wds_.find(ev.wd);
  if (w == wds_.end()) return;
  auto serving = w->second;  // add_tree below may add to wds_
  if (ev.mask & IN_IGNORED) {
    for (auto const& [root, dir] : serving)
      if (auto t = trees_.find(root); t != trees_.end()) t->second->wds.erase(ev.wd);
    wds_.erase(ev.wd);
  }
  for (auto const& [root, dir] : serving) {
    auto t = trees_.find(root);
    if (t == trees_.end()) continue;
    fs::path path = name.empty() ? dir : dir / std::string(name);
    if ((ev.mask & IN_ISDIR) && (ev.mask & (IN_CREATE | IN_MOVED_TO)) && !skipped(path)) add_tree(*t->second, path, true);
    if (ev.mask & IN_IGNORED) continue;
    if ((ev.mask & IN_ISDIR) && (ev.mask & (IN_ATTRIB | IN_CLOSE_WRITE))) continue;  // a directory's own bookkeeping
    changed(*t->second, path.lexically_relative(root).string());
  }
}

void Watcher::changed(Tree& t, std::string rel) {
  auto now = std::chrono::steady_clock::now();
  if (t.changes++ == 0) t.first = now;
  if (t.paths.size() < kKeptPaths) t.paths.insert(rel.empty() || rel == "." ? "." : std::move(rel));
  auto due = std::min(now + quiet_, t.first + longest_);
  t.timer.expires_at(due);
  t.timer.async_wait([this, dir = t.dir, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (alive.expired() || ec) return;
    fire(dir);
  });
}

void Watcher::fire(std::string const& dir) {
  auto it = trees_.find(dir);
  if (it == trees_.end()) return;
  auto& t = *it->second;
  if (t.changes == 0) return;  // a second wait that was already due: reported by the first
  std::vector<std::string> paths(t.paths.begin(), t.paths.end());
  std::size_t changes = t.changes;
  auto functions = t.functions;
  t.paths.clear();
  t.changes = 0;
  for (auto const& f : functions)
    if (on_change) on_change(f, dir, paths, changes);
}

}  // namespace lambdad::reload
