// Durable file operations for the state directory: atomic replace
// (temp + fsync + rename + fsync dir), tree removal that copes with
// read-only trees, whole-file reads. Blocking: call from the pool.
#pragma once

#include "result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace lambdad::util {

namespace fs = std::filesystem;

Result<void> make_dirs(fs::path const& dir);
Result<void> fsync_dir(fs::path const& dir);
// Writes `data` to `tmp_dir/<random>`, fsyncs it, renames it over `target`,
// and fsyncs target's directory. On failure the target is untouched.
// With `durable` false the data is not fsynced (the rename is still atomic:
// a crash of the process never leaves a partial file; a power loss may).
Result<void> write_file_atomic(fs::path const& target, std::string_view data,
                               fs::path const& tmp_dir, bool durable = true);
// Unlinks `target` and fsyncs its directory; a missing file is not an error.
Result<void> remove_file_durable(fs::path const& target);
Result<std::string> read_file(fs::path const& path);
// Removes a tree whose directories may be read-only (unpacked code trees are).
Result<void> remove_tree(fs::path const& dir);

}  // namespace lambdad::util
