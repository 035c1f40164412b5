// Hot reload's pure half: which host directory a hot-reload Code or
// Content object names (LocalStack's convention: S3Bucket "hot-reload",
// S3Key an absolute host path with $VAR expanded), and whether this daemon
// may serve it (--hot-reload-dirs). No I/O beyond looking at the path.
#pragma once

#include "model/api_error.hpp"
#include "model/arn.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace lambdad::reload {

// What GetFunction and the rest say instead of a SHA-256 (LocalStack's
// value; the AWS Toolkit for VS Code checks for it).
inline constexpr char const* kCodeSha256 = "hot-reloading-hash-not-available";

// "hot-reload", or LocalStack's older "__local__".
bool is_hot_reload_bucket(std::string const& bucket);

// Which host directories may be served, from --hot-reload-dirs.
struct Policy {
  enum class Mode { Any, None, Listed };
  Mode mode = Mode::Any;
  std::vector<std::filesystem::path> roots;  // Listed: canonical
  std::filesystem::path state_dir;           // never served, nor anything holding it
};

// "any" (every directory but the system's own trees), "none" (hot reload
// refused), or DIR[:DIR...] (only under these; each must exist).
Result<Policy> parse_policy(std::string const& value, std::filesystem::path const& state_dir);
// One line for the start-up log and `lambdad doctor`.
std::string describe(Policy const& p);

// $NAME and ${NAME} replaced by `lookup` (nullptr: left as written, as
// Python's os.path.expandvars does).
std::string expand_vars(std::string const& text, std::function<char const*(std::string const&)> const& lookup);

// The directory an S3Key of the hot-reload bucket names: canonical, or the
// InvalidParameterValueException the caller gets (relative, missing, not a
// directory, or not allowed).
model::ApiResult<std::string> host_directory(std::string const& key, Policy const& policy,
                                             std::function<char const*(std::string const&)> const& lookup);

}  // namespace lambdad::reload
