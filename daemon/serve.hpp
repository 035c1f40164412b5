// `lambdad serve`: opens the state directory, starts the HTTP front and runs
// the io_context until SIGTERM/SIGINT, then drains in-flight requests.
#pragma once

#include "api/control_plane.hpp"
#include "exec/invoker.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace lambdad {

struct ServeOptions {
  std::string listen = "127.0.0.1:9000";
  std::filesystem::path state_dir = ".lambdad";
  std::filesystem::path ready_file;  // written with "HOST:PORT" once listening
  // [runtimes] / --runtime ID=PATH: the interpreter of a managed runtime.
  std::vector<std::string> runtime_interpreters;
  // What functions see as AWS_ENDPOINT_URL (other services: a local S3...); "" none.
  std::string function_endpoint_url;
  // Which host directories hot-reloaded code may come from: "any", "none" or DIR[:DIR...].
  std::string hot_reload_dirs = "any";
  api::Config api;
  unsigned pool_threads = 2;
  bool sync_code = true;
  exec::InvokerOptions invoker;
  bool use_cgroups = true;
  std::chrono::seconds drain_timeout{10};
  // At stop: how long environments get between SHUTDOWN/SIGTERM and SIGKILL.
  std::chrono::milliseconds shutdown_grace{2000};
  std::uint64_t max_body_bytes = 80u << 20;
  std::chrono::seconds idle_timeout{75};
  std::chrono::seconds read_timeout{60};
  std::string log_level = "info";
  std::string config_file;  // the configuration file read, if any
  std::vector<std::string> config_warnings;  // said at start
  // SIGHUP: the settings read again (command line and file); serve applies
  // what can change while running and names what needs a restart.
  std::function<Result<ServeOptions>()> reread;
};

int serve(ServeOptions const& opts);
// The daemon's log on stderr at `level`; with syslog priority prefixes
// (`<6>`) when stderr is the journal ($JOURNAL_STREAM).
void init_logging(std::string const& level);
// `lambdad doctor`: prints what the machine offers the sandbox; 0 if
// functions can run here, 1 if not.
int doctor();

}  // namespace lambdad
