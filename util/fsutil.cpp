#include "fsutil.hpp"
#include "fd.hpp"

#include "clock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lambdad::util {

namespace {

std::string q(fs::path const& p) { return "`" + p.string() + "`"; }

Result<void> write_all(int fd, std::string_view data, fs::path const& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + q(path));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> make_dirs(fs::path const& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{ec, "create directory " + q(dir)};
  return {};
}

Result<void> fsync_dir(fs::path const& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open " + q(dir));
  int rc = ::fsync(fd.get());
  int err = errno;
  if (rc != 0) return errno_error("fsync " + q(dir), err);
  return {};
}

Result<void> write_file_atomic(fs::path const& target, std::string_view data,
                               fs::path const& tmp_dir, bool durable) {
  fs::path tmp = tmp_dir / ("rec-" + uuid4());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return errno_error("create " + q(tmp));
  auto wrote = write_all(fd.get(), data, tmp);
  if (wrote && durable && ::fsync(fd.get()) != 0) wrote = errno_error("fsync " + q(tmp));
  fd.reset();
  if (!wrote) {
    ::unlink(tmp.c_str());
    return wrote;
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    auto err = errno_error("rename " + q(tmp) + " to " + q(target));
    ::unlink(tmp.c_str());
    return err;
  }
  if (!durable) return {};
  return fsync_dir(target.parent_path());
}

Result<void> remove_file_durable(fs::path const& target) {
  if (::unlink(target.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("unlink " + q(target));
  }
  return fsync_dir(target.parent_path());
}

Result<std::string> read_file(fs::path const& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + q(path));
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return errno_error("read " + q(path), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<void> remove_tree(fs::path const& dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return {};
  // Give directories back their write bit first: an unprivileged daemon
  // cannot unlink entries of a 0555 directory.
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
  }
  ::chmod(dir.c_str(), 0755);
  ec.clear();
  fs::remove_all(dir, ec);
  if (ec) return Error{ec, "remove " + q(dir)};
  return {};
}

}  // namespace lambdad::util
