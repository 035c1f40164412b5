#include "unpack.hpp"

#include "util/fd.hpp"
#include "util/fsutil.hpp"

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

std::string at(std::uint64_t offset) { return "offset " + std::to_string(offset); }

// Devices, FIFOs and sockets: one message wherever the type is seen.
char const* special_kind(unsigned type) {
  switch (type) {
    case S_IFIFO: return "FIFO";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFSOCK: return "socket";
    default: return "unknown file type";
  }
}
Error special_file(std::string const& entry, unsigned type) {
  return bad_entry(entry, std::string("special file (") + special_kind(type) +
                              "): devices, FIFOs and sockets are not allowed");
}

// ---- The central directory (PKWARE's APPNOTE.TXT, 4.3.12 to 4.3.16) -------
//
// The entries and their Unix modes are in the central directory; the local
// headers have no modes. libarchive's seekable reader reads through it but
// trusts it: it stops at the first end signature it meets without counting
// entries, it reports a missing end record only as "Unrecognized archive
// format", and it turns a FIFO's mode into a regular file's. So one pass over
// the directory comes first and refuses, naming the offset or the entry, what
// unzip would refuse. Linear in the directory's size.

constexpr std::uint64_t eocd_size = 22;
constexpr std::uint64_t central_header_size = 46;
constexpr std::uint64_t local_header_size = 30;
constexpr std::uint64_t max_comment = 0xffff;

struct CentralDirectory {
  std::uint64_t start = 0;   // the first entry
  std::uint64_t end = 0;     // where the end record (or the zip64 one) starts
  std::uint64_t count = 0;   // entries the end record lists
  std::uint64_t prefix = 0;  // bytes before the zip (self-extractors), missing from every offset
};

// Little-endian field of `bytes` bytes at `pos`; callers check the bounds.
std::uint64_t le(std::string_view z, std::uint64_t pos, int bytes) {
  std::uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(z[pos + static_cast<unsigned>(k)]);
  return v;
}

bool has_signature(std::string_view z, std::uint64_t pos, char const (&sig)[5]) {
  return pos <= z.size() && z.size() - pos >= 4 && z.compare(pos, 4, sig, 4) == 0;
}

// The last end record with room for its 22 bytes, the one libarchive's
// bidder picks (a comment of up to 64 KiB may follow; libarchive looks at
// the last 16 KiB only, and calls a zip with a longer comment unrecognized).
Result<std::uint64_t> find_eocd(std::string_view z) {
  if (z.size() >= eocd_size) {
    std::uint64_t lowest = z.size() > eocd_size + max_comment ? z.size() - eocd_size - max_comment : 0;
    for (std::uint64_t p = z.size() - eocd_size + 1; p-- > lowest;)
      if (has_signature(z, p, "PK\5\6")) return p;
  }
  return bad("not a zip file: no end-of-central-directory record (not a zip, or a truncated one)");
}

Error split_archive(char const* record, std::uint64_t offset) {
  return bad(std::string(record) + " at " + at(offset) + ": split (multi-disk) archives are not supported");
}

// Zip64 (more than 65535 entries, or offsets past 4 GiB): a locator just
// before the end record points at the zip64 end record, which libarchive
// then uses instead, as here.
Result<CentralDirectory> read_zip64_end(std::string_view z, std::uint64_t locator) {
  std::uint64_t rec = le(z, locator + 8, 8);
  if (le(z, locator + 4, 4) != 0 || le(z, locator + 16, 4) != 1)
    return split_archive("zip64 end-of-central-directory locator", locator);
  if (rec > locator || locator - rec < 56 || !has_signature(z, rec, "PK\6\6"))
    return bad("broken zip64 end-of-central-directory locator at " + at(locator) + ": no record at " + at(rec));
  if (le(z, rec + 16, 4) != 0 || le(z, rec + 20, 4) != 0 || le(z, rec + 24, 8) != le(z, rec + 32, 8))
    return split_archive("zip64 end-of-central-directory record", rec);
  std::uint64_t size = le(z, rec + 40, 8), offset = le(z, rec + 48, 8);
  if (offset > rec || size != rec - offset)
    return bad("central directory truncated: the zip64 end-of-central-directory record at " + at(rec) + " gives " +
               std::to_string(size) + " bytes at " + at(offset) + ", which do not end where it starts");
  return CentralDirectory{offset, rec, le(z, rec + 32, 8), 0};
}

Result<CentralDirectory> read_end_records(std::string_view z, std::uint64_t eocd) {
  if (le(z, eocd + 4, 2) != 0 || le(z, eocd + 6, 2) != 0 || le(z, eocd + 8, 2) != le(z, eocd + 10, 2))
    return split_archive("end-of-central-directory record", eocd);
  if (eocd >= 20 && has_signature(z, eocd - 20, "PK\6\7")) return read_zip64_end(z, eocd - 20);
  std::uint64_t size = le(z, eocd + 12, 4), offset = le(z, eocd + 16, 4);
  // The directory ends where the end record starts; data before the zip
  // shows as a start past the recorded offset (libarchive corrects the same way).
  if (size > eocd || offset > eocd - size)
    return bad("central directory truncated: the end-of-central-directory record at " + at(eocd) + " gives " +
               std::to_string(size) + " bytes at " + at(offset) + ", which do not fit before it");
  return CentralDirectory{eocd - size, eocd, le(z, eocd + 10, 2), eocd - size - offset};
}

// An entry's local header offset, from its zip64 extra field when the
// 32-bit one is saturated (APPNOTE 4.5.3: only saturated fields are there).
std::uint64_t local_header_offset(std::string_view z, std::uint64_t o) {
  std::uint64_t offset = le(z, o + 42, 4);
  if (offset != 0xffffffff) return offset;
  std::uint64_t p = o + central_header_size + le(z, o + 28, 2);
  std::uint64_t end = p + le(z, o + 30, 2);
  while (end - p >= 4) {
    std::uint64_t id = le(z, p, 2), len = le(z, p + 2, 2);
    if (len > end - p - 4) break;
    if (id == 1) {
      std::uint64_t skip = (le(z, o + 24, 4) == 0xffffffff ? 8 : 0) + (le(z, o + 20, 4) == 0xffffffff ? 8 : 0);
      return len >= skip + 8 ? le(z, p + 4 + skip, 8) : offset;
    }
    p += 4 + len;
  }
  return offset;
}

// What the directory says of one entry that libarchive would not tell:
// a special type (made by Unix: the mode is in the external attributes'
// high 16 bits, APPNOTE 4.4.15), and whether its local header is there.
Result<void> check_listed_entry(std::string_view z, CentralDirectory const& cd, std::uint64_t o,
                                std::string_view name) {
  unsigned made_by = static_cast<unsigned char>(z[o + 5]);
  auto type = static_cast<unsigned>(le(z, o + 38, 4) >> 16) & S_IFMT;
  if (made_by == 3 && type != 0 && type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
    return special_file(std::string(name), type);
  std::uint64_t local = local_header_offset(z, o) + cd.prefix;
  if (local > cd.start || cd.start - local < local_header_size || !has_signature(z, local, "PK\3\4"))
    return bad_entry(std::string(name), "no local header at " + at(local) + " (broken central directory)");
  return {};
}

Result<void> check_entries(std::string_view z, CentralDirectory const& cd) {
  std::uint64_t o = cd.start;
  std::string total = std::to_string(cd.count);
  for (std::uint64_t i = 1; i <= cd.count; ++i) {
    auto which = [&] { return "entry " + std::to_string(i) + " of " + total + " at " + at(o); };
    if (o == cd.end)
      return bad("central directory truncated: the end-of-central-directory record lists " + total +
                 " entries, the directory at " + at(cd.start) + " holds " + std::to_string(i - 1));
    if (cd.end - o < central_header_size) return bad("central directory truncated: " + which() + " is cut short");
    if (!has_signature(z, o, "PK\1\2"))
      return bad("broken central directory: " + which() + " has no entry signature");
    std::uint64_t name_size = le(z, o + 28, 2);
    std::uint64_t size = central_header_size + name_size + le(z, o + 30, 2) + le(z, o + 32, 2);
    if (cd.end - o < size) return bad("central directory truncated: " + which() + " is cut short");
    if (auto r = check_listed_entry(z, cd, o, z.substr(o + central_header_size, name_size)); !r)
      return r;
    o += size;
  }
  if (o != cd.end)
    return bad("broken central directory: its " + total + " entries end at " + at(o) +
               ", the end-of-central-directory record is at " + at(cd.end));
  return {};
}

// The number of entries, once the directory is known whole.
Result<std::uint64_t> check_central_directory(std::string_view z) {
  auto eocd = find_eocd(z);
  if (!eocd) return eocd.error();
  auto cd = read_end_records(z, *eocd);
  if (!cd) return cd.error();
  if (auto r = check_entries(z, *cd); !r) return r.error();
  return cd->count;
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
  util::Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return errno_error("create `" + p.string() + "`");
  auto r = write_data(a, fd.get(), entry, st.bytes, zip_size, limits);
  if (r && ::fchmod(fd.get(), mode) != 0) r = errno_error("chmod `" + p.string() + "`");
  fd.reset();
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
    default:  // a type set by an extra field, which the directory check does not read
      return special_file(entry, archive_entry_filetype(e));
  }
}

Result<UnpackStats> unpack_into(std::string_view zip, Tree& t, UnpackLimits const& limits) {
  auto listed = check_central_directory(zip);
  if (!listed) return listed.error();
  if (*listed == 0) return bad("not a zip file: the archive is empty");
  if (*listed > limits.max_entries) return bad("more than " + std::to_string(limits.max_entries) + " entries");
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  // Only the seekable reader: the streaming one, libarchive's fallback when
  // the end record is missing, reads local headers and loses every mode.
  // archive_read_open_memory gives it the seek callback it needs.
  archive_read_support_format_zip_seekable(a.get());
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
