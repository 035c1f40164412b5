// Log groups on disk, as CloudWatch keeps them for Lambda: one group per
// function (/aws/lambda/NAME), one stream per execution environment
// (YYYY/MM/DD/[$LATEST]<hex>), one event per line with its time. Lines go
// to disk once per io handler (set_flush_scheduler; readers of the files
// call flush() first); while a group has followers its most recent lines
// are also kept in memory with a sequence number, for them, at once. On the io_context thread; no
// locks, no Asio: a follower subscribes with a callback that wakes it.
// Memory: a group without followers keeps no lines, and a group without
// followers or open streams is forgotten (a daemon of many functions and
// long runs must stay flat).
//
// On disk: <root>/<function>/<YYYY>/<MM>/<DD>/[$LATEST]<hex>, each line
// "<epoch ms>\t<message>".
#pragma once

#include "util/fd.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lambdad::logs {

struct LogEvent {
  std::uint64_t seq = 0;  // 0 for events read back from disk
  std::int64_t time_ms = 0;
  std::string stream;
  std::string message;
  std::uint64_t line = 0;  // its line in the stream's file, from 0 (events read from disk)
};

// A group on disk: its key and the time of its first event.
struct GroupInfo {
  std::string key;
  std::int64_t first_ms = 0;
};

// The store's key of a log group: a function's default group
// (/aws/lambda/NAME) is NAME, as the groups on disk have always been
// named; any other group (LoggingConfig.LogGroup) is "%" and its name with
// '/' and '%' escaped, which is never a function name nor a path.
std::string group_key(std::string_view group);

// "2026-11-28T15:04:05.123000+00:00 2026/11/28/[$LATEST]abc… message", as `aws logs tail` prints it.
std::string format_event(LogEvent const& e);

class LogStore {
 public:
  explicit LogStore(std::filesystem::path root, std::size_t keep_in_memory = 10000);
  ~LogStore();
  LogStore(LogStore const&) = delete;
  LogStore& operator=(LogStore const&) = delete;

  void append(std::string const& function, std::string const& stream, std::string_view message,
              std::chrono::system_clock::time_point at = std::chrono::system_clock::now());
  // Lines are written to their files in batches: `schedule` is called when
  // the first line of a batch is appended and must run flush() later, not
  // from inside the call (the daemon posts it to the io thread, so every
  // line of one handler goes out in one write a stream). A stream's batch
  // past 64 KB is written at once. Without a scheduler each append writes
  // at once.
  void set_flush_scheduler(std::function<void()> schedule) { schedule_flush_ = std::move(schedule); }
  // Writes what is pending to the streams' files.
  void flush();
  // The environment of `stream` ended: its file is closed.
  void close_stream(std::string const& function, std::string const& stream);

  // Every event of the group on disk, in time order (streams merged).
  // Groups are named by their keys (group_key): any other name (a '/',
  // "..") is no group, never a path.
  // Any thread: reads only the files (and root_, which never changes).
  std::vector<LogEvent> read_group(std::string const& function) const;
  bool group_exists(std::string const& function) const;
  // Every group on disk. Any thread, as read_group.
  std::vector<GroupInfo> groups() const;

  // Retention (PutRetentionPolicy), kept in <root>/<key>/retention: the
  // group's days, or nothing. Any thread (retention.cpp).
  std::optional<int> retention(std::string const& key) const;
  bool set_retention(std::string const& key, std::optional<int> days) const;
  // Deletes every stream whose newest event is older than its group's
  // retention (else `default_days`; 0: kept forever), except `open` ones
  // ("<key>/<stream>", from open_streams()). How many. Any thread.
  std::size_t expire(int default_days, std::set<std::string> const& open,
                     std::chrono::system_clock::time_point now) const;
  // The streams written to now. io thread.
  std::set<std::string> open_streams() const;
  // Events newer than `after` still in memory (kept from the group's first
  // subscriber on: subscribe before taking last_seq); `lost` is set when
  // some of them were already dropped (the follower fell behind).
  std::vector<LogEvent> since(std::string const& function, std::uint64_t after, bool& lost) const;
  std::uint64_t last_seq(std::string const& function) const;

  // `wake` runs after every append to `function`'s group; the group keeps
  // its recent lines in memory while it has a subscriber.
  int subscribe(std::string const& function, std::function<void()> wake);
  void unsubscribe(int id);
  // Groups in memory (those with a follower or an open stream), and lines
  // they keep: for tests of the bounds.
  std::size_t group_count() const { return groups_.size(); }
  std::size_t kept_events() const;
  // Wakes every subscriber (the daemon is stopping).
  void wake_all();

 private:
  struct Group {
    std::deque<LogEvent> recent;
    std::uint64_t next_seq = 1;
    struct Stream {
      util::Fd fd;
      std::string pending;  // lines appended, not yet written
      bool failing = false;  // its last write failed (said once, and when it recovers)
    };
    std::map<std::string, Stream> streams;  // open ones, by name
    int followers = 0;
  };
  // Forgets `function`'s group once nothing needs it (no follower, no open stream).
  void forget_if_unused(std::string const& function);
  std::filesystem::path stream_path(std::string const& function, std::string const& stream) const;
  Group::Stream* stream_for(std::string const& function, Group& g, std::string const& stream);
  void write_pending(std::string const& function, Group::Stream& s);

  std::filesystem::path root_;
  std::size_t keep_;
  std::map<std::string, Group> groups_;
  struct Subscriber {
    std::string function;
    std::function<void()> wake;
  };
  std::map<int, Subscriber> subscribers_;
  int next_subscriber_ = 1;
  bool warned_ = false;
  std::function<void()> schedule_flush_;
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  // Streams with pending lines, and their groups' keys.
  std::vector<std::pair<std::string const*, Group::Stream*>> dirty_;
};

}  // namespace lambdad::logs
