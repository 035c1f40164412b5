// What an environment executes, found as Lambda finds it: a managed
// runtime's interpreter and client, or the bootstrap in /var/task, then /opt.
#pragma once

#include "environment.hpp"

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace lambdad::exec {

// The program, as the environment sees it and on the host (--no-sandbox).
struct Launch {
  std::string path;
  std::vector<std::string> argv;
  std::string host_path;
  std::vector<std::string> host_argv;
};

// A regular file (after symlinks), and one with an execute bit.
bool executable_file(std::filesystem::path const& p);
bool has_exec_bit(std::filesystem::path const& p);

// The launch, or why there is none (Runtime.InvalidEntrypoint).
std::variant<Launch, StartFailure> launch_of(FunctionImage const& fn);

}  // namespace lambdad::exec
