#include "unpack.hpp"

#include "../util/fsutil.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

namespace lambdad::store {

namespace fs = std::filesystem;

namespace {

struct BadArchiveCategory : std::error_category {
  char const* name() const noexcept override { return "archive"; }
  std::string message(int) const override { return {}; }  // the context says it all
};
BadArchiveCategory const bad_archive_category;

Error bad(std::string msg) {
  return Error{std::error_code(1, bad_archive_category), std::move(msg)};
}
Error bad_entry(std::string const& entry, std::string const& reason) {
  return bad("entry `" + entry + "`: " + reason);
}
Error too_large(std::string const& entry, std::uint64_t limit) {
  return Error{std::error_code(2, bad_archive_category),
               "entry `" + entry + "`: unzipped size exceeds " + std::to_string(limit) + " bytes"};
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

std::string join(std::vector<std::string> const& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back('/');
    out += parts[i];
  }
  return out;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Tracks what has been created so far, to refuse writes through symlinks and
// type conflicts, and to check every link once the whole tree is known.
struct Tree {
  fs::path root;
  std::unordered_set<std::string> dirs;
  std::unordered_set<std::string> files;
  std::unordered_map<std::string, std::string> links;
  std::vector<std::string> dir_order;
};

Result<void> ensure_parents(Tree& t, std::vector<std::string> const& parts,
                            std::string const& entry) {
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string prefix = join(parts, i);
    if (t.links.count(prefix)) return bad_entry(entry, "path passes through symlink `" + prefix + "`");
    if (t.files.count(prefix)) return bad_entry(entry, "parent `" + prefix + "` is a file");
    if (t.dirs.insert(prefix).second) {
      fs::path p = t.root / prefix;
      if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("mkdir `" + p.string() + "`");
      t.dir_order.push_back(prefix);
    }
  }
  return {};
}

Result<void> write_data(archive* a, int fd, std::string const& entry, std::uint64_t& total,
                        std::uint64_t zip_size, UnpackLimits const& limits) {
  for (;;) {
    void const* buf = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) return {};
    if (rc != ARCHIVE_OK) return bad_entry(entry, std::string("corrupt data: ") + archive_error_string(a));
    total += size;
    if (total > limits.max_bytes)
      return too_large(entry, limits.max_bytes);
    if (total > limits.ratio_floor && total / std::max<std::uint64_t>(zip_size, 1) > limits.max_ratio)
      return bad_entry(entry, "compression ratio above " + std::to_string(limits.max_ratio) +
                                  ":1 (zip bomb)");
    // Sparse blocks from libarchive come with an offset; seek to keep holes.
    if (::lseek(fd, offset, SEEK_SET) < 0) return errno_error("seek in `" + entry + "`");
    char const* p = static_cast<char const*>(buf);
    while (size > 0) {
      ssize_t n = ::write(fd, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write `" + entry + "`");
      }
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  }
}

Result<void> extract_file(archive* a, archive_entry* e, Tree& t, std::string const& rel,
                          std::string const& entry, UnpackStats& st, std::uint64_t zip_size,
                          UnpackLimits const& limits) {
  if (t.dirs.count(rel) || t.links.count(rel)) return bad_entry(entry, "conflicts with an earlier entry");
  mode_t mode = archive_entry_perm(e) & 0777;
  if (mode == 0) mode = 0644;
  mode |= 0400;
  mode &= static_cast<mode_t>(~0222);  // trees are read-only
  fs::path p = t.root / rel;
  ::unlink(p.c_str());  // a duplicate entry replaces the earlier one
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("create `" + p.string() + "`");
  auto r = write_data(a, fd, entry, st.bytes, zip_size, limits);
  if (r && ::fchmod(fd, mode) != 0) r = errno_error("chmod `" + p.string() + "`");
  ::close(fd);
  if (!r) return r;
  t.files.insert(rel);
  ++st.files;
  return {};
}

Result<void> extract_entry(archive* a, archive_entry* e, Tree& t, UnpackStats& st,
                           std::uint64_t zip_size, UnpackLimits const& limits) {
  char const* raw = archive_entry_pathname(e);
  if (!raw) raw = archive_entry_pathname_utf8(e);
  std::string entry = raw ? raw : "";
  if (entry.empty()) return bad("an entry has an empty name");
  if (entry.front() == '/') return bad_entry(entry, "absolute path");
  auto parts = split(entry);
  for (auto const& part : parts)
    if (part == "..") return bad_entry(entry, "path traversal (`..`)");
  if (archive_entry_hardlink(e)) return bad_entry(entry, "hard links are not supported");
  if (parts.empty()) return {};  // "./" itself
  if (auto r = ensure_parents(t, parts, entry); !r) return r;
  std::string rel = join(parts, parts.size());
  fs::path p = t.root / rel;

  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      if (t.files.count(rel) || t.links.count(rel)) return bad_entry(entry, "conflicts with an earlier entry");
      if (t.dirs.insert(rel).second) {
        if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("mkdir `" + p.string() + "`");
        t.dir_order.push_back(rel);
        ++st.dirs;
      }
      return {};
    case AE_IFREG:
      return extract_file(a, e, t, rel, entry, st, zip_size, limits);
    case AE_IFLNK: {
      char const* target = archive_entry_symlink(e);
      if (!target || !*target) return bad_entry(entry, "symlink without a target");
      if (t.dirs.count(rel) || t.files.count(rel) || t.links.count(rel))
        return bad_entry(entry, "conflicts with an earlier entry");
      if (target[0] == '/') return bad_entry(entry, std::string("symlink to absolute path `") + target + "`");
      if (::symlink(target, p.c_str()) != 0) return errno_error("symlink `" + p.string() + "`");
      t.links.emplace(rel, target);
      ++st.symlinks;
      return {};
    }
    default:
      return bad_entry(entry, "device, fifo or socket entries are not allowed");
  }
}

Result<UnpackStats> unpack_into(std::string_view zip, Tree& t, UnpackLimits const& limits) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK)
    return bad(std::string("not a zip file: ") + archive_error_string(a.get()));
  UnpackStats st;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      char const* why = archive_error_string(a.get());
      return bad(std::string(st.entries == 0 ? "not a zip file: " : "corrupt archive: ") +
                 (why ? why : "unreadable header"));
    }
    if (++st.entries > limits.max_entries)
      return bad("more than " + std::to_string(limits.max_entries) + " entries");
    if (auto r = extract_entry(a.get(), e, t, st, zip.size(), limits); !r) return r.error();
  }
  if (st.entries == 0) return bad("not a zip file: the archive is empty");
  for (auto const& [link, target] : t.links)
    if (!symlink_stays_inside(link, target, t.links))
      return bad_entry(link, "symlink `" + target + "` points outside the archive");
  // Directories last, deepest first, so their files could still be created.
  for (auto it = t.dir_order.rbegin(); it != t.dir_order.rend(); ++it)
    ::chmod((t.root / *it).c_str(), 0555);
  return st;
}

}  // namespace

bool is_bad_archive(Error const& e) { return &e.code.category() == &bad_archive_category; }
bool is_too_large(Error const& e) { return is_bad_archive(e) && e.code.value() == 2; }

Error over_budget(std::uint64_t size, std::uint64_t budget) {
  return Error{std::error_code(2, bad_archive_category),
               "unzipped size " + std::to_string(size) + " exceeds " + std::to_string(budget) + " bytes"};
}

bool symlink_stays_inside(std::string const& link, std::string const& target,
                          std::unordered_map<std::string, std::string> const& links) {
  std::vector<std::string> cur = split(link);
  if (cur.empty()) return false;
  cur.pop_back();  // resolve relative to the link's directory
  if (!target.empty() && target.front() == '/') return false;
  auto first = split(target);
  std::deque<std::string> todo(first.begin(), first.end());
  int expansions = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == "..") {
      if (cur.empty()) return false;
      cur.pop_back();
      continue;
    }
    cur.push_back(std::move(c));
    auto hit = links.find(join(cur, cur.size()));
    if (hit == links.end()) continue;
    if (++expansions > 40) return false;  // ELOOP, as the kernel would
    if (!hit->second.empty() && hit->second.front() == '/') return false;
    cur.pop_back();
    auto more = split(hit->second);
    todo.insert(todo.begin(), more.begin(), more.end());
  }
  return true;
}

Result<UnpackStats> unpack_zip(std::string_view zip, fs::path const& dest,
                               UnpackLimits const& limits) {
  if (::mkdir(dest.c_str(), 0755) != 0) return errno_error("mkdir `" + dest.string() + "`");
  Tree t{dest, {}, {}, {}, {}};
  auto r = unpack_into(zip, t, limits);
  if (!r) {
    (void)util::remove_tree(dest);
    return r.error();
  }
  ::chmod(dest.c_str(), 0555);
  return r;
}

}  // namespace lambdad::store
