// `lambdad serve`'s settings: the command line (CLI11) and the
// configuration file (TOML, toml++). Every file key is the twin of a flag and
// goes through that flag's own conversion and checks; a flag given on the
// command line wins over the file. A bad file is refused with FILE:LINE.
#pragma once

#include "serve.hpp"
#include "util/result.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace lambdad {

struct Settings {
  ServeOptions opts;
  // Plain values the flags write; finish() turns them into `opts`.
  unsigned drain = 10, idle = 75, read = 60;
  long keep_alive_ms = 300000;
  long shutdown_grace_ms = 2000;
  unsigned sandbox_uid = 993, sandbox_gid = 990;
  std::string network = "host";
  bool no_sandbox = false;
  std::string config;  // --config; empty: the default file if it exists
};

// The default configuration file (under meson's sysconfdir).
std::string default_config_path();

// Registers every `serve` flag, bound to `s`.
void add_serve_options(CLI::App* serve, Settings& s);

// After the command line is parsed: reads the configuration file and applies
// each key whose flag was not given, then fills `s.opts`. The error names
// the file, the line and the reason.
Result<void> load_config(CLI::App* serve, Settings& s);

// For SIGHUP: the same command line (the arguments after `serve`) and the
// file read again, from scratch.
Result<ServeOptions> reread_settings(std::vector<std::string> const& serve_args);

}  // namespace lambdad
