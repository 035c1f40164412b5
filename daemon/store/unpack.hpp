// Unpacks a zip archive (function code or layer) into a fresh directory with
// libarchive, read through its central directory (which must be whole),
// refusing hostile input with an error that names the entry or offset and
// the reason. Blocking: runs on the pool. Knows nothing of HTTP or records.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lambdad::store {

struct UnpackLimits {
  std::uint64_t max_entries = 100000;
  std::uint64_t max_bytes = 262144000;  // Lambda's unzipped limit for function + layers
  // A zip that inflates past both `ratio_floor` bytes and `max_ratio` times its
  // own size is treated as a decompression bomb.
  std::uint64_t ratio_floor = 16u << 20;
  std::uint64_t max_ratio = 250;
};

struct UnpackStats {
  std::uint64_t entries = 0;
  std::uint64_t files = 0;
  std::uint64_t dirs = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;  // sum of regular file sizes
};

// True when an error is the archive's fault (bad input) rather than ours (I/O).
bool is_bad_archive(Error const& e);
// True when the archive is well formed but unzips past `max_bytes`.
bool is_too_large(Error const& e);
// The same error for a tree already unpacked (reused) whose size is over a
// caller's budget.
Error over_budget(std::uint64_t size, std::uint64_t budget);

// `dest` must not exist. On failure nothing is left at `dest`.
Result<UnpackStats> unpack_zip(std::string_view zip, std::filesystem::path const& dest,
                               UnpackLimits const& limits);

// Pure check used by the unpacker: does the symlink at `link` (relative path in
// the tree) with `target` resolve inside the tree, given the tree's other links?
bool symlink_stays_inside(std::string const& link, std::string const& target,
                          std::unordered_map<std::string, std::string> const& links);

}  // namespace lambdad::store
