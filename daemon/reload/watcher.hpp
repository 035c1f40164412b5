// Hot reload's watcher: one inotify descriptor on the io_context thread,
// watching every directory under each hot-reloaded tree (recursively, new
// subdirectories included). A burst of changes under a tree is reported
// once, when it has been quiet for `quiet` (at most `longest` after its
// first change), to every function served from that tree.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct inotify_event;

namespace lambdad::reload {

class Watcher {
 public:
  // `function`'s code or a layer of it changed under `dir`: some of the
  // paths changed (relative to dir), and how many changes there were.
  using OnChange = std::function<void(std::string const& function, std::string const& dir,
                                      std::vector<std::string> const& changed, std::size_t changes)>;

  Watcher(boost::asio::io_context& ioc, std::chrono::milliseconds quiet = std::chrono::milliseconds(100),
          std::chrono::milliseconds longest = std::chrono::milliseconds(500));
  ~Watcher();
  Watcher(Watcher const&) = delete;
  Watcher& operator=(Watcher const&) = delete;

  // Why changes cannot be watched (no inotify), or "".
  std::string const& error() const { return error_; }
  // The directories `function` is served from (none: it is no longer watched).
  void watch(std::string const& function, std::set<std::string> const& dirs);
  OnChange on_change;
  // Directories watched, over every tree.
  std::size_t watch_count() const { return wds_.size(); }

 private:
  struct Tree;
  Tree& tree(std::string const& dir);
  // Watches `dir` and every directory under it; `report`: a directory just
  // made, whose files count as changes.
  void add_tree(Tree& t, std::filesystem::path const& dir, bool report = false);
  bool add_one(Tree& t, std::filesystem::path const& dir);
  void drop_tree(std::string const& dir);
  void arm();
  void drain();
  void handle(inotify_event const& ev, std::string_view name);
  void changed(Tree& t, std::string rel);
  void fire(std::string const& dir);

  boost::asio::io_context& ioc_;
  std::chrono::milliseconds quiet_, longest_;
  boost::asio::posix::stream_descriptor sd_;
  std::string error_;
  bool warned_limit_ = false;
  std::map<std::string, std::unique_ptr<Tree>> trees_;  // by the tree's directory
  // Each watch: the trees it serves and, for each, the directory watched.
  std::map<int, std::map<std::string, std::filesystem::path>> wds_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambdad::reload
