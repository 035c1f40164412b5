#include "launch.hpp"

#include <sys/stat.h>

namespace lambdad::exec {

namespace fs = std::filesystem;

bool executable_file(fs::path const& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool has_exec_bit(fs::path const& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & 0111) != 0;
}

namespace {

// A managed runtime: the interpreter and lambdad's client; with
// AWS_LAMBDA_EXEC_WRAPPER, the wrapper first, given the same argv ("Modifying
// the runtime environment", wrapper scripts).
Launch managed_launch(FunctionImage const& fn) {
  auto const& m = *fn.managed;
  Launch l{m.interpreter.string(), {m.interpreter.string()}, m.interpreter.string(), {m.interpreter.string()}};
  // A "--no-X" flag is left out when the function's NODE_OPTIONS turns X on
  // (--experimental-require-module: how a function asks for require(esm)).
  auto node_options = fn.env.count("NODE_OPTIONS") ? fn.env.at("NODE_OPTIONS") : std::string();
  for (auto const& flag : m.flags) {
    if (flag.rfind("--no-", 0) == 0 && node_options.find("--" + flag.substr(5)) != std::string::npos) continue;
    l.argv.push_back(flag);
    l.host_argv.push_back(flag);
  }
  l.argv.push_back("/var/runtime/" + m.entry);
  l.host_argv.push_back((m.client_dir / m.entry).string());
  if (auto w = fn.env.find("AWS_LAMBDA_EXEC_WRAPPER"); w != fn.env.end() && !w->second.empty()) {
    l.argv.insert(l.argv.begin(), w->second);
    l.path = w->second;
  }
  return l;
}

}  // namespace

// Bootstrap lookup as Lambda does it: /var/task, then /opt (the last layer
// that has one wins, as in the merged /opt).
std::variant<Launch, StartFailure> launch_of(FunctionImage const& fn) {
  if (fn.managed) return managed_launch(fn);
  std::string path;
  fs::path host_path;
  if (executable_file(fn.code_tree / "bootstrap")) {
    path = "/var/task/bootstrap";
    host_path = fn.code_tree / "bootstrap";
  } else {
    for (auto it = fn.layer_trees.rbegin(); it != fn.layer_trees.rend() && path.empty(); ++it)
      if (executable_file(*it / "bootstrap")) {
        path = "/opt/bootstrap";
        host_path = *it / "bootstrap";
      }
  }
  if (path.empty())
    return StartFailure{"Runtime.InvalidEntrypoint",
                        "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"};
  if (!has_exec_bit(host_path)) return StartFailure{"Runtime.InvalidEntrypoint", "fork/exec " + path + ": permission denied"};
  return Launch{path, {path}, host_path.string(), {host_path.string()}};
}

}  // namespace lambdad::exec
