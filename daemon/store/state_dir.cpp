#include "state_dir.hpp"

#include "util/clock.hpp"
#include "util/fd.hpp"
#include "util/fsutil.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace lambdad::store {

using nlohmann::json;

namespace {

std::string q(fs::path const& p) { return "`" + p.string() + "`"; }

template <class Rec>
Result<Rec> read_record(fs::path const& p) {
  auto text = util::read_file(p);
  if (!text) return text.error();
  try {
    return json::parse(*text).get<Rec>();
  } catch (std::exception const& e) {
    return plain_error("parse " + q(p) + ": " + e.what());
  }
}

// Flushes everything written under `dir` (one syncfs instead of an fsync per file).
Result<void> sync_filesystem_of(fs::path const& dir) {
  util::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open " + q(dir));
  int rc = ::syncfs(fd.get());
  int err = errno;
  if (rc != 0) return errno_error("syncfs " + q(dir), err);
  return {};
}

}  // namespace

StateDir::StateDir(fs::path root, bool sync_code)
    : root_(std::move(root)),
      sync_code_(sync_code),
      functions_dir_(root_ / "functions"),
      layers_dir_(root_ / "layers"),
      blobs_dir_(root_ / "blobs" / "sha256"),
      trees_dir_(root_ / "trees" / "sha256"),
      tmp_dir_(root_ / "tmp") {}

fs::path StateDir::blob_path(std::string const& sha_hex) const { return blobs_dir_ / (sha_hex + ".zip"); }
fs::path StateDir::tree_path(std::string const& sha_hex) const { return trees_dir_ / sha_hex; }

Result<Loaded> StateDir::open() {
  for (auto const& d : {functions_dir_, layers_dir_, blobs_dir_, trees_dir_, tmp_dir_})
    if (auto r = util::make_dirs(d); !r) return r.error();
  Loaded out;
  std::error_code ec;
  // Leftovers of writes a crash interrupted: temp records and half-unpacked trees.
  for (auto const& e : fs::directory_iterator(tmp_dir_, ec)) {
    (void)util::remove_tree(e.path());
    out.notes.push_back("removed interrupted write " + q(e.path()));
  }
  for (auto const& e : fs::directory_iterator(trees_dir_, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) {
      (void)util::remove_tree(e.path());
      out.notes.push_back("removed interrupted unpack " + q(e.path()));
    }
  }
  for (auto const& e : fs::directory_iterator(functions_dir_, ec)) {
    if (e.path().extension() != ".json") continue;
    auto rec = read_record<model::FunctionState>(e.path());
    if (!rec) return rec.error();
    out.functions.push_back(std::move(*rec));
  }
  for (auto const& layer : fs::directory_iterator(layers_dir_, ec)) {
    auto name = layer.path().filename().string();
    for (auto const& e : fs::directory_iterator(layer.path(), ec)) {
      if (e.path().filename() == "watermark") {
        auto text = util::read_file(e.path());
        if (text) out.layer_watermarks[name] = std::atoi(text->c_str());
        continue;
      }
      if (e.path().extension() != ".json") continue;
      auto rec = read_record<model::LayerVersionRecord>(e.path());
      if (!rec) return rec.error();
      auto& wm = out.layer_watermarks[name];
      wm = std::max(wm, rec->version);
      out.layers.push_back(std::move(*rec));
    }
  }
  return out;
}

Result<StoredCode> StateDir::put_code(std::string const& zip, std::string const& sha_hex,
                                      UnpackLimits const& limits) {
  StoredCode out{sha_hex, zip.size(), 0, false};
  fs::path tree = tree_path(sha_hex);
  fs::path meta = trees_dir_ / (sha_hex + ".json");
  fs::path blob = blob_path(sha_hex);
  std::error_code ec;
  // A tree counts only once its meta file exists: it is written last.
  if (fs::exists(meta, ec) && fs::is_directory(tree, ec) && fs::exists(blob, ec)) {
    auto text = util::read_file(meta);
    if (text) {
      try {
        out.unzipped_size = json::parse(*text).at("unzipped_size").get<std::uint64_t>();
        out.reused = true;
        return out;
      } catch (std::exception const&) {
      }
    }
  }
  (void)util::remove_tree(tree);
  fs::path tmp_tree = trees_dir_ / (".tmp-" + util::uuid4());
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto stats = unpack_zip(zip, tmp_tree, limits);
  auto t1 = clock::now();
  if (!stats) return stats.error();
  out.unzipped_size = stats->bytes;
  auto fail = [&](Error e) -> Result<StoredCode> {
    (void)util::remove_tree(tmp_tree);
    return e;
  };
  // Written after the unpack, not beside it: on ext4 the two compete for
  // the journal and both get slower (measured: unpack 165 -> 530 ms).
  if (!fs::exists(blob, ec))
    if (auto r = util::write_file_atomic(blob, zip, tmp_dir_, sync_code_); !r) return fail(r.error());
  auto t2 = clock::now();
  // One syncfs instead of an fsync per file of the tree.
  if (sync_code_)
    if (auto r = sync_filesystem_of(tmp_tree); !r) return fail(r.error());
  auto t3 = clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  spdlog::debug("code {}: unpacked {} entries in {:.1f} ms, zip stored in {:.1f} ms, synced in {:.1f} ms", sha_hex,
                stats->entries, ms(t1 - t0).count(), ms(t2 - t1).count(), ms(t3 - t2).count());
  if (::rename(tmp_tree.c_str(), tree.c_str()) != 0) return fail(errno_error("rename " + q(tmp_tree)));
  json m = {{"unzipped_size", stats->bytes}, {"files", stats->files}, {"entries", stats->entries}};
  if (auto r = util::write_file_atomic(meta, m.dump(), tmp_dir_); !r) return r.error();
  return out;
}

Result<void> StateDir::write_function(model::FunctionState const& state) {
  return util::write_file_atomic(functions_dir_ / (state.latest.name + ".json"), json(state).dump(2), tmp_dir_);
}

Result<void> StateDir::remove_function(std::string const& name) {
  return util::remove_file_durable(functions_dir_ / (name + ".json"));
}

Result<void> StateDir::write_layer(model::LayerVersionRecord const& rec) {
  fs::path dir = layers_dir_ / rec.name;
  std::error_code ec;
  bool fresh = !fs::exists(dir, ec);
  if (auto r = util::make_dirs(dir); !r) return r;
  if (fresh)
    if (auto r = util::fsync_dir(layers_dir_); !r) return r;
  return util::write_file_atomic(dir / (std::to_string(rec.version) + ".json"), json(rec).dump(2), tmp_dir_);
}

Result<void> StateDir::remove_layer(std::string const& name, int version, int watermark) {
  fs::path dir = layers_dir_ / name;
  // The watermark first: version numbers are never reused, even after a delete.
  if (auto r = util::write_file_atomic(dir / "watermark", std::to_string(watermark), tmp_dir_); !r) return r;
  return util::remove_file_durable(dir / (std::to_string(version) + ".json"));
}

Result<std::vector<std::string>> StateDir::collect(std::set<std::string> const& keep) {
  std::vector<std::string> removed;
  std::error_code ec;
  std::set<std::string> seen;
  for (auto const& e : fs::directory_iterator(trees_dir_, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) continue;
    seen.insert(name.substr(0, 64));
  }
  for (auto const& e : fs::directory_iterator(blobs_dir_, ec)) seen.insert(e.path().stem().string());
  for (auto const& sha : seen) {
    if (keep.count(sha)) continue;
    // Meta first: without it the tree no longer counts as complete.
    (void)util::remove_file_durable(trees_dir_ / (sha + ".json"));
    if (auto r = util::remove_tree(tree_path(sha)); !r) return r.error();
    if (auto r = util::remove_file_durable(blob_path(sha)); !r) return r.error();
    removed.push_back(sha);
  }
  return removed;
}

}  // namespace lambdad::store
