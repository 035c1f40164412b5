#include "store.hpp"

#include "util/crypto.hpp"
#include "util/fsutil.hpp"

#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

namespace lambdad::logs {

namespace {

bool function_name_chars(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// A key group_key makes: a function name, or "%" and an escaped group name
// (LogGroup's characters, '/' and '%' as %2F and %25).
bool valid_group_name(std::string_view name) {
  if (name.empty()) return false;
  if (name.front() != '%') return name.size() <= 64 && function_name_chars(name);
  auto rest = name.substr(1);
  return !rest.empty() && rest.size() <= 3 * 512 && std::all_of(rest.begin(), rest.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._-#%~").find(c) != std::string_view::npos;
  });
}

// A group's retention setting (<group>/retention): not a stream.
bool is_retention_file(std::filesystem::recursive_directory_iterator const& it) {
  return it.depth() == 0 && it->path().filename() == "retention";
}

}  // namespace

namespace fs = std::filesystem;

std::string group_key(std::string_view group) {
  constexpr std::string_view prefix = "/aws/lambda/";
  if (group.rfind(prefix, 0) == 0) {
    auto fn = group.substr(prefix.size());
    if (!fn.empty() && fn.size() <= 64 && function_name_chars(fn)) return std::string(fn);
  }
  std::string key = "%";
  for (char c : group) {
    if (c == '/') key += "%2F";
    else if (c == '%') key += "%25";
    else key += c;
  }
  // A file name has at most 255 bytes: a long name keeps its start and a
  // hash of the whole.
  constexpr std::size_t kMaxKey = 200;
  if (key.size() > kMaxKey) key = key.substr(0, kMaxKey - 17) + "~" + util::to_hex(util::sha256(group)).substr(0, 16);
  return key;
}

std::string format_event(LogEvent const& e) {
  std::time_t secs = static_cast<std::time_t>(e.time_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03d000+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(e.time_ms % 1000));
  return std::string(ts) + " " + e.stream + " " + e.message;
}

LogStore::LogStore(fs::path root, std::size_t keep_in_memory) : root_(std::move(root)), keep_(keep_in_memory) {}

LogStore::~LogStore() { flush(); }

fs::path LogStore::stream_path(std::string const& function, std::string const& stream) const {
  return root_ / function / stream;
}

LogStore::Group::Stream* LogStore::stream_for(std::string const& function, Group& g, std::string const& stream) {
  if (auto it = g.streams.find(stream); it != g.streams.end()) return &it->second;
  auto path = stream_path(function, stream);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) {
    if (!warned_) spdlog::warn("function {}: cannot write its log {}: {}", function, path.string(), std::strerror(errno));
    warned_ = true;
    return nullptr;  // tried again at the next line
  }
  return &(g.streams[stream] = Group::Stream{std::move(fd), {}});
}

void LogStore::write_pending(std::string const& function, Group::Stream& s) {
  std::string_view rest = s.pending;
  off_t start = ::lseek(s.fd.get(), 0, SEEK_END);
  while (!rest.empty()) {
    ssize_t n = ::write(s.fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // a full disk: the lines are dropped, the invokes go on
      int err = n < 0 ? errno : ENOSPC;
      // A batch cut short is cut off whole: the file ends with a whole line,
      // so the next write after space comes back starts a line of its own.
      bool cut_short = start >= 0 && rest.size() < s.pending.size();
      if (cut_short && ::ftruncate(s.fd.get(), start) != 0)
        spdlog::warn("function {}: a cut-short log batch could not be truncated ({}): a fragment stays", function,
                     std::strerror(errno));
      if (!s.failing) spdlog::warn("function {}: writing its log: {}: its lines are dropped", function, std::strerror(err));
      s.failing = true;
      s.pending.clear();
      return;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (s.failing) spdlog::info("function {}: its log is written again", function);
  s.failing = false;
  s.pending.clear();
}

void LogStore::flush() {
  for (auto [function, s] : dirty_) write_pending(*function, *s);
  dirty_.clear();
}

void LogStore::append(std::string const& function, std::string const& stream, std::string_view message,
                      std::chrono::system_clock::time_point at) {
  auto [git, made] = groups_.try_emplace(function);
  auto& g = git->second;
  auto seq = g.next_seq++;
  auto time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  if (auto* s = stream_for(function, g, stream)) {
    bool first = dirty_.empty();
    if (s->pending.empty()) dirty_.emplace_back(&git->first, s);
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, time_ms).ptr;
    s->pending.append(digits, end).append(1, '\t').append(message).append(1, '\n');
    // A flood of output (one read of the pipe holds many lines) is written
    // in 64 KB pieces, not held until the handler ends.
    if (!schedule_flush_ || s->pending.size() >= kBatchBytes) flush();
    else if (first) schedule_flush_();
  }
  if (g.followers == 0) return;  // nobody reads the lines from memory
  LogEvent e;
  e.seq = seq;
  e.time_ms = time_ms;
  e.stream = stream;
  e.message = std::string(message);
  g.recent.push_back(std::move(e));
  while (g.recent.size() > keep_) g.recent.pop_front();
  // Copy first: a wake may unsubscribe.
  std::vector<std::function<void()>> wakes;
  for (auto const& [id, s] : subscribers_)
    if (s.function == function) wakes.push_back(s.wake);
  for (auto const& w : wakes) w();
}

void LogStore::close_stream(std::string const& function, std::string const& stream) {
  auto it = groups_.find(function);
  if (it == groups_.end()) return;
  if (auto f = it->second.streams.find(stream); f != it->second.streams.end()) {
    // Its last lines are written first.
    if (!f->second.pending.empty()) {
      write_pending(function, f->second);
      std::erase_if(dirty_, [&](auto const& d) { return d.second == &f->second; });
    }
    it->second.streams.erase(f);
  }
  forget_if_unused(function);
}

void LogStore::forget_if_unused(std::string const& function) {
  // Its sequence numbers start again at 1: no follower holds one.
  auto it = groups_.find(function);
  if (it != groups_.end() && it->second.followers == 0 && it->second.streams.empty()) groups_.erase(it);
}

std::size_t LogStore::kept_events() const {
  std::size_t n = 0;
  for (auto const& [name, g] : groups_) n += g.recent.size();
  return n;
}

bool LogStore::group_exists(std::string const& function) const {
  if (!valid_group_name(function)) return false;
  std::error_code ec;
  return fs::is_directory(root_ / function, ec);
}

std::vector<GroupInfo> LogStore::groups() const {
  std::vector<GroupInfo> out;
  std::error_code ec;
  for (auto const& dir : fs::directory_iterator(root_, ec)) {
    std::string key = dir.path().filename().string();
    if (!dir.is_directory() || !valid_group_name(key)) continue;
    GroupInfo g{key, 0};
    // The first line of each stream: the group began with the earliest.
    for (auto it = fs::recursive_directory_iterator(dir.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file() || is_retention_file(it)) continue;
      std::ifstream in(it->path());
      std::string first;
      if (!std::getline(in, first) || in.eof()) continue;
      auto t = std::strtoll(first.c_str(), nullptr, 10);
      if (g.first_ms == 0 || t < g.first_ms) g.first_ms = t;
    }
    if (g.first_ms == 0) {  // every stream expired: the group stays, as CloudWatch keeps it
      struct stat st {};
      if (::stat(dir.path().c_str(), &st) == 0)
        g.first_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<LogEvent> LogStore::read_group(std::string const& function) const {
  std::vector<LogEvent> out;
  if (!valid_group_name(function)) return out;
  std::error_code ec;
  auto dir = root_ / function;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || is_retention_file(it)) continue;
    std::string stream = it->path().lexically_relative(dir).string();
    std::ifstream in(it->path());
    std::string line;
    std::uint64_t index = 0;
    while (std::getline(in, line)) {
      // A last line without its '\n' is still being written (the io thread
      // appends while this may run on the pool): left for the next read.
      if (in.eof()) break;
      auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      LogEvent e;
      e.time_ms = std::strtoll(line.c_str(), nullptr, 10);
      e.stream = stream;
      e.message = line.substr(tab + 1);
      e.line = index++;
      out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](LogEvent const& a, LogEvent const& b) { return a.time_ms < b.time_ms; });
  return out;
}

std::vector<LogEvent> LogStore::since(std::string const& function, std::uint64_t after, bool& lost) const {
  lost = false;
  std::vector<LogEvent> out;
  auto it = groups_.find(function);
  if (it == groups_.end()) return out;
  auto const& recent = it->second.recent;
  if (!recent.empty() && recent.front().seq > after + 1) lost = true;
  for (auto const& e : recent)
    if (e.seq > after) out.push_back(e);
  return out;
}

std::uint64_t LogStore::last_seq(std::string const& function) const {
  auto it = groups_.find(function);
  return it == groups_.end() ? 0 : it->second.next_seq - 1;
}

int LogStore::subscribe(std::string const& function, std::function<void()> wake) {
  int id = next_subscriber_++;
  ++groups_[function].followers;
  subscribers_[id] = Subscriber{function, std::move(wake)};
  return id;
}

void LogStore::unsubscribe(int id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  auto function = std::move(it->second.function);
  subscribers_.erase(it);
  auto g = groups_.find(function);
  if (g == groups_.end() || --g->second.followers > 0) return;
  // The last follower left: its lines are nobody's now (a deque keeps its
  // blocks until destroyed, hence the swap).
  std::deque<LogEvent>().swap(g->second.recent);
  forget_if_unused(function);
}

void LogStore::wake_all() {
  std::vector<std::function<void()>> wakes;
  for (auto const& [id, s] : subscribers_) wakes.push_back(s.wake);
  for (auto const& w : wakes) w();
}

std::optional<int> LogStore::retention(std::string const& key) const {
  if (!valid_group_name(key)) return std::nullopt;
  auto text = util::read_file(root_ / key / "retention");
  if (!text) return std::nullopt;
  int days = std::atoi(text->c_str());
  if (days <= 0) return std::nullopt;
  return days;
}

bool LogStore::set_retention(std::string const& key, std::optional<int> days) const {
  if (!valid_group_name(key)) return false;
  auto dir = root_ / key;
  if (!days) {
    std::error_code ec;
    fs::remove(dir / "retention", ec);
    return !ec;
  }
  // The temp file in the root, where nothing but group directories is read.
  return bool(util::write_file_atomic(dir / "retention", std::to_string(*days) + "\n", root_));
}

std::set<std::string> LogStore::open_streams() const {
  std::set<std::string> out;
  for (auto const& [key, g] : groups_)
    for (auto const& [stream, s] : g.streams) out.insert(key + "/" + stream);
  return out;
}

std::size_t LogStore::expire(int default_days, std::set<std::string> const& open,
                             std::chrono::system_clock::time_point now) const {
  std::size_t removed = 0;
  std::error_code ec;
  for (auto const& dir : fs::directory_iterator(root_, ec)) {
    std::string key = dir.path().filename().string();
    if (!dir.is_directory() || !valid_group_name(key)) continue;
    int days = retention(key).value_or(default_days);
    if (days <= 0) continue;
    auto cutoff = fs::file_time_type::clock::now() -
                  std::chrono::duration_cast<fs::file_time_type::duration>(
                      (std::chrono::system_clock::now() - now) + std::chrono::hours(24) * days);
    std::vector<fs::path> old;
    for (auto it = fs::recursive_directory_iterator(dir.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file() || is_retention_file(it)) continue;
      std::string stream = it->path().lexically_relative(dir.path()).string();
      std::error_code tec;
      auto written = fs::last_write_time(it->path(), tec);  // its newest event
      if (!tec && written < cutoff && !open.count(key + "/" + stream)) old.push_back(it->path());
    }
    for (auto const& f : old) {
      std::error_code rec;
      if (fs::remove(f, rec)) ++removed;
      // Empty day, month and year directories go too.
      for (auto d = f.parent_path(); d != dir.path() && fs::is_empty(d, rec); d = d.parent_path()) fs::remove(d, rec);
    }
  }
  return removed;
}

}  // namespace lambdad::logs
