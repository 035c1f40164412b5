#include "test_events.hpp"

#include "util/fsutil.hpp"

#include <algorithm>

namespace lambdad::store {

namespace fs = std::filesystem;

bool TestEvents::valid_name(std::string const& name) {
  if (name.empty() || name.size() > 25) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  }) && name != "." && name != "..";
}

Result<std::vector<std::pair<std::string, std::string>>> TestEvents::list(std::string const& function) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  auto dir = root_ / function;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto const& entry : fs::directory_iterator(dir, ec)) {
    auto const& p = entry.path();
    if (p.extension() != ".json" || !valid_name(p.stem().string())) continue;  // temp files, strays
    auto text = util::read_file(p);
    if (!text) return text.error();
    out.emplace_back(p.stem().string(), std::move(*text));
  }
  if (ec) return errno_error("read `" + dir.string() + "`", ec.value());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::optional<std::string>> TestEvents::get(std::string const& function, std::string const& name) const {
  std::error_code ec;
  auto p = file(function, name);
  if (!fs::exists(p, ec)) return std::optional<std::string>();
  auto text = util::read_file(p);
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

Result<void> TestEvents::put(std::string const& function, std::string const& name, std::string const& json) {
  if (auto made = util::make_dirs(root_ / function); !made) return made;
  if (auto made = util::make_dirs(tmp_); !made) return made;
  return util::write_file_atomic(file(function, name), json, tmp_);
}

Result<bool> TestEvents::remove(std::string const& function, std::string const& name) {
  std::error_code ec;
  auto p = file(function, name);
  if (!fs::exists(p, ec)) return false;
  if (auto r = util::remove_file_durable(p); !r) return r.error();
  return true;
}

Result<void> TestEvents::remove_all(std::string const& function) {
  std::error_code ec;
  fs::remove_all(root_ / function, ec);
  if (ec) return errno_error("remove `" + (root_ / function).string() + "`", ec.value());
  return {};
}

}  // namespace lambdad::store
