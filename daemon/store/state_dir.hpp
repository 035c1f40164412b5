// The state directory on disk: function and layer records (JSON, written
// atomically), zips by SHA-256, unpacked trees by SHA-256, and removal of what
// nothing references. Blocking; the control plane runs every call on one
// strand of the pool, so calls never overlap. Knows nothing of HTTP.
#pragma once

#include "../model/records.hpp"
#include "util/result.hpp"
#include "unpack.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lambdad::store {

namespace fs = std::filesystem;

struct Loaded {
  std::vector<model::FunctionState> functions;
  std::vector<model::LayerVersionRecord> layers;
  std::map<std::string, int> layer_watermarks;  // highest version ever published, per layer
  std::vector<std::string> notes;               // what start-up found and did (cleaned leftovers...)
};

struct StoredCode {
  std::string sha_hex;
  std::uint64_t size = 0;
  std::uint64_t unzipped_size = 0;
  bool reused = false;  // the tree was already there: nothing was unpacked
};

class StateDir {
 public:
  // `sync_code`: flush each stored zip and unpacked tree to disk before its
  // record is written, so a power loss cannot leave a record pointing at a
  // half-written tree. Records are always fsynced.
  explicit StateDir(fs::path root, bool sync_code = true);

  fs::path const& root() const { return root_; }
  fs::path blob_path(std::string const& sha_hex) const;
  fs::path tree_path(std::string const& sha_hex) const;

  // Creates the layout, removes leftovers of interrupted writes, reads every record.
  Result<Loaded> open();
  // Stores the zip and its unpacked tree, unless a complete tree is already there.
  Result<StoredCode> put_code(std::string const& zip, std::string const& sha_hex, UnpackLimits const& limits);
  Result<void> write_function(model::FunctionState const& state);
  Result<void> remove_function(std::string const& name);
  Result<void> write_layer(model::LayerVersionRecord const& rec);
  Result<void> remove_layer(std::string const& name, int version, int watermark);
  // Removes every blob and tree whose SHA-256 is not in `keep`; returns what it removed.
  Result<std::vector<std::string>> collect(std::set<std::string> const& keep);

 private:
  fs::path root_;
  bool sync_code_;
  fs::path functions_dir_, layers_dir_, blobs_dir_, trees_dir_, tmp_dir_;
};

}  // namespace lambdad::store
