#include "path.hpp"

#include <algorithm>
#include <cctype>

namespace lambdad::reload {

namespace fs = std::filesystem;

namespace {

// Trees no function may be given: the kernel's, the host's configuration
// and secrets, and lambdad's own state.
constexpr char const* kSystemTrees[] = {"/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/root", "/var/lib"};

bool under(fs::path const& p, fs::path const& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

std::string key_error_prefix() { return "When using hot reloading, the archive key has to be "; }

// Why `dir` (canonical) may not be served, or "".
std::string refusal(fs::path const& dir, Policy const& policy) {
  if (policy.mode == Policy::Mode::None)
    return "this daemon serves no host directory (--hot-reload-dirs none; hot_reload_dirs in the configuration file)";
  if (dir == "/") return "it is the host's root";
  // overlayfs splits lowerdir= at ':' and its options at ',': such a path would name other directories.
  if (dir.string().find_first_of(":,\\") != std::string::npos)
    return "its path holds ':', ',' or '\\', which a layer's mount cannot take";
  if (!policy.state_dir.empty() && (under(dir, policy.state_dir) || under(policy.state_dir, dir)))
    return "it holds or is inside lambdad's state directory " + policy.state_dir.string();
  if (policy.mode == Policy::Mode::Listed) {
    for (auto const& root : policy.roots)
      if (under(dir, root)) return "";
    std::string list;
    for (auto const& root : policy.roots) list += (list.empty() ? "" : ", ") + root.string();
    return "it is not under a directory --hot-reload-dirs allows (" + list + ")";
  }
  for (auto const* t : kSystemTrees) {
    if (under(dir, t)) return std::string("it is under ") + t + ", a system directory";
    if (under(t, dir)) return std::string("it holds ") + t + ", a system directory";
  }
  return "";
}

}  // namespace

bool is_hot_reload_bucket(std::string const& bucket) { return bucket == "hot-reload" || bucket == "__local__"; }

Result<Policy> parse_policy(std::string const& value, fs::path const& state_dir) {
  Policy p;
  std::error_code ec;
  p.state_dir = fs::weakly_canonical(state_dir, ec);
  if (ec) p.state_dir = fs::absolute(state_dir);
  if (value == "any" || value.empty()) return p;
  if (value == "none") {
    p.mode = Policy::Mode::None;
    return p;
  }
  p.mode = Policy::Mode::Listed;
  std::size_t at = 0;
  while (at <= value.size()) {
    auto end = value.find(':', at);
    if (end == std::string::npos) end = value.size();
    fs::path dir = value.substr(at, end - at);
    at = end + 1;
    if (dir.empty()) continue;
    if (!dir.is_absolute()) return plain_error("--hot-reload-dirs: `" + dir.string() + "` is not an absolute path");
    auto canonical = fs::canonical(dir, ec);
    if (ec || !fs::is_directory(canonical))
      return plain_error("--hot-reload-dirs: `" + dir.string() + "` is not a directory");
    p.roots.push_back(canonical);
  }
  if (p.roots.empty()) return plain_error("--hot-reload-dirs: expected any, none or DIR[:DIR...]");
  return p;
}

std::string describe(Policy const& p) {
  switch (p.mode) {
    case Policy::Mode::None: return "hot reload: off (--hot-reload-dirs none)";
    case Policy::Mode::Any:
      return "hot reload: any host directory but /proc, /sys, /dev, /run, /boot, /etc, /root, /var/lib and the "
             "state directory (--hot-reload-dirs any)";
    case Policy::Mode::Listed: break;
  }
  std::string list;
  for (auto const& root : p.roots) list += (list.empty() ? "" : ", ") + root.string();
  return "hot reload: directories under " + list + " only (--hot-reload-dirs)";
}

std::string expand_vars(std::string const& text, std::function<char const*(std::string const&)> const& lookup) {
  std::string out;
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::size_t start = i + 1, end = start;
    bool braced = start < text.size() && text[start] == '{';
    if (braced) {
      end = text.find('}', start);
      if (end == std::string::npos) {
        out += text.substr(i);
        break;
      }
    } else {
      while (end < text.size() && name_char(text[end])) ++end;
    }
    std::string name = braced ? text.substr(start + 1, end - start - 1) : text.substr(start, end - start);
    std::size_t next = braced ? end + 1 : end;
    char const* value = name.empty() ? nullptr : lookup(name);
    out += value ? std::string(value) : text.substr(i, next - i);
    i = next;
  }
  return out;
}

model::ApiResult<std::string> host_directory(std::string const& key, Policy const& policy,
                                             std::function<char const*(std::string const&)> const& lookup) {
  fs::path expanded = expand_vars(key, lookup);
  if (!expanded.is_absolute())
    return model::invalid_parameter(key_error_prefix() + "an absolute path! Your archive key: " + key);
  std::error_code ec;
  auto dir = fs::canonical(expanded, ec);
  if (ec || !fs::is_directory(dir, ec))
    return model::invalid_parameter(key_error_prefix() + "an existing directory on lambdad's host: " +
                                    expanded.string() + (dir.empty() ? " does not exist" : " is not a directory"));
  if (auto why = refusal(dir, policy); !why.empty())
    return model::invalid_parameter("Hot reloading from " + dir.string() + " is refused: " + why);
  return dir.string();
}

}  // namespace lambdad::reload
