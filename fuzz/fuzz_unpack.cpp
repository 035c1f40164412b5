// The zip unpacker on hostile archives: any bytes are unpacked or refused;
// a refusal leaves nothing at the destination; an accepted tree holds no
// special file and no symlink that resolves outside it.
#include "input.hpp"
#include "store/unpack.hpp"
#include "util/fsutil.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace lambdad;
namespace fs = std::filesystem;

namespace {

fs::path const& scratch() {
  static fs::path const dir = [] {
    char tmpl[] = "/tmp/lambdad-fuzz-unpack-XXXXXX";
    if (!::mkdtemp(tmpl)) fuzz::violated("cannot make a scratch directory");
    return fs::path(tmpl);
  }();
  return dir;
}

void check_tree(fs::path const& root) {
  auto const real_root = fs::canonical(root);
  for (auto const& e : fs::recursive_directory_iterator(root)) {
    auto st = e.symlink_status();
    if (fs::is_symlink(st)) {
      std::error_code ec;
      auto target = fs::weakly_canonical(e.path(), ec);
      if (ec) continue;  // dangling inside is fine
      auto rel = target.lexically_relative(real_root);
      if (rel.empty() || *rel.begin() == "..") fuzz::violated("a symlink resolves outside the tree");
    } else if (!fs::is_regular_file(st) && !fs::is_directory(st)) {
      fuzz::violated("a special file in the tree");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static unsigned long n = 0;
  auto dest = scratch() / ("t" + std::to_string(n++));
  store::UnpackLimits limits;
  limits.max_entries = 200;
  limits.max_bytes = 8u << 20;
  limits.ratio_floor = 1u << 20;
  auto got = store::unpack_zip(std::string_view(reinterpret_cast<char const*>(data), size), dest, limits);
  std::error_code ec;
  if (!got) {
    if (fs::exists(fs::symlink_status(dest, ec))) fuzz::violated("a refused zip left something behind");
    return 0;
  }
  check_tree(dest);
  if (!util::remove_tree(dest)) fuzz::violated("cannot remove the tree");
  return 0;
}
