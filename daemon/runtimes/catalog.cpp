#include "catalog.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace lambdad::runtimes {

namespace fs = std::filesystem;

namespace {

// As AWS sets them for its managed runtimes (section 6 of the contract).
constexpr char const* kPath = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin";
constexpr char const* kLdPath =
    "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib";

RuntimeSpec python(std::string const& v) {
  return {"python" + v, Family::python, v, {"python" + v, "python3"}, "python", "bootstrap.py",
          {{"AWS_EXECUTION_ENV", "AWS_Lambda_python" + v},
           {"PATH", kPath},
           {"LD_LIBRARY_PATH", kLdPath},
           {"LC_CTYPE", "C.UTF-8"},
           {"AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"}}};
}

RuntimeSpec nodejs(std::string const& v) {
  return {"nodejs" + v + ".x", Family::nodejs, v, {"node" + v, "node", "nodejs"}, "nodejs", "index.mjs",
          {{"AWS_EXECUTION_ENV", "AWS_Lambda_nodejs" + v + ".x"},
           {"PATH", kPath},
           {"LD_LIBRARY_PATH", kLdPath},
           {"NODE_PATH", "/opt/nodejs/node" + v + "/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
                         "/var/runtime:/var/task"},
           {"AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"}}};
}

bool executable(fs::path const& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// The first line `exe --version` prints; "" if it cannot be run here.
std::string version_of(fs::path const& exe) {
  std::string cmd = "'" + exe.string() + "' --version 2>&1";
  if (exe.string().find('\'') != std::string::npos) return "";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  std::array<char, 256> buf{};
  std::string out;
  if (std::fgets(buf.data(), buf.size(), p)) out = buf.data();
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.rfind("Python ", 0) == 0) out = out.substr(7);
  std::size_t digit = out.rfind('v', 0) == 0 ? 1 : 0;  // node's "v20.20.2"
  if (out.size() <= digit || !std::isdigit(static_cast<unsigned char>(out[digit]))) return "";
  return out;
}

// Whether `found` ("3.11.2", "v20.20.2") is the spec's version ("3.12", "20").
bool same_version(RuntimeSpec const& spec, std::string const& found) {
  std::string v = found.rfind('v', 0) == 0 ? found.substr(1) : found;
  return v == spec.version || v.rfind(spec.version + ".", 0) == 0;
}

std::optional<fs::path> on_path(std::string const& name, std::string const& search_path, fs::path const& rootfs) {
  std::stringstream dirs(search_path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path inside = fs::path(dir) / name;
    if (executable(rootfs.empty() ? inside : rootfs / inside.relative_path())) return inside;
  }
  return std::nullopt;
}

}  // namespace

std::vector<RuntimeSpec> const& all() {
  static std::vector<RuntimeSpec> const specs = [] {
    std::vector<RuntimeSpec> v;
    for (auto const* id : {"provided", "provided.al2", "provided.al2023"})
      v.push_back({id, Family::provided, "", {}, "", "", {}});
    for (auto const* p : {"3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}) v.push_back(python(p));
    for (auto const* n : {"18", "20", "22", "24"}) v.push_back(nodejs(n));
    return v;
  }();
  return specs;
}

RuntimeSpec const* find(std::string const& id) {
  for (auto const& s : all())
    if (s.id == id) return &s;
  return nullptr;
}

Availability probe(std::map<std::string, std::string> const& configured, std::string const& search_path,
                   fs::path const& rootfs, fs::path const& clients_dir) {
  Availability out;
  std::map<std::string, std::string> versions;  // interpreter -> its version, asked once
  for (auto const& spec : all()) {
    if (spec.family == Family::provided) continue;
    Resolved r;
    r.client_dir = clients_dir / spec.client;
    if (!fs::is_regular_file(r.client_dir / spec.entry)) {
      out.unavailable[spec.id] = "lambdad's runtime client " + (r.client_dir / spec.entry).string() + " is missing";
      continue;
    }
    std::optional<fs::path> exe;
    if (auto c = configured.find(spec.id); c != configured.end()) {
      fs::path p = c->second;
      if (!executable(rootfs.empty() ? p : rootfs / p.relative_path())) {
        out.unavailable[spec.id] = "its configured interpreter " + p.string() + " is not an executable file";
        continue;
      }
      exe = p;
    }
    for (std::size_t i = 0; !exe && i < spec.interpreters.size(); ++i)
      exe = on_path(spec.interpreters[i], search_path, rootfs);
    if (!exe) {
      std::string names;
      for (auto const& n : spec.interpreters) names += (names.empty() ? "" : ", ") + n;
      out.unavailable[spec.id] = "no interpreter for it on this host (looked for " + names + " in " +
                                 search_path + "; set [runtimes] \"" + spec.id + "\" in the configuration file)";
      continue;
    }
    r.interpreter = *exe;
    auto host_exe = rootfs.empty() ? *exe : rootfs / exe->relative_path();
    if (!versions.count(host_exe.string())) versions[host_exe.string()] = version_of(host_exe);
    r.interpreter_version = versions[host_exe.string()];
    r.version_mismatch = !r.interpreter_version.empty() && !same_version(spec, r.interpreter_version);
    out.ready[spec.id] = r;
  }
  return out;
}

std::vector<std::string> describe(Availability const& a) {
  std::vector<std::string> lines;
  for (auto const& [id, r] : a.ready) {
    std::string line = id + ": " + r.interpreter.string();
    if (!r.interpreter_version.empty()) line += " (" + r.interpreter_version + ")";
    if (r.version_mismatch) line += "; its version differs from the runtime's: functions run, on this one";
    lines.push_back(line);
  }
  for (auto const& [id, why] : a.unavailable) lines.push_back(id + ": unavailable, " + why);
  return lines;
}

std::vector<std::string> interpreter_flags(RuntimeSpec const& spec, std::string const& interpreter_version) {
  if (spec.family != Family::nodejs) return {};
  auto v = std::string_view(interpreter_version);
  if (!v.empty() && v.front() == 'v') v.remove_prefix(1);
  int major = 0;
  for (char c : v.substr(0, v.find('.'))) {
    if (c < '0' || c > '9') return {};
    major = major * 10 + (c - '0');
  }
  if (major == 20) return {"--no-experimental-require-module"};
  if (major == 22) return {"--no-experimental-require-module", "--no-experimental-detect-module"};
  return {};
}

}  // namespace lambdad::runtimes
