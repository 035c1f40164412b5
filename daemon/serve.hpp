// `lambdad serve`: opens the state directory, starts the HTTP front and runs
// the io_context until SIGTERM/SIGINT, then drains in-flight requests.
#pragma once

#include "api/control_plane.hpp"
#include "exec/invoker.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace lambdad {

struct ServeOptions {
  std::string listen = "127.0.0.1:9000";
  std::filesystem::path state_dir = ".lambdad";
  std::filesystem::path ready_file;  // written with "HOST:PORT" once listening
  api::Config api;
  unsigned pool_threads = 2;
  bool sync_code = true;
  exec::InvokerOptions invoker;
  bool use_cgroups = true;
  std::chrono::seconds drain_timeout{10};
  std::uint64_t max_body_bytes = 80u << 20;
  std::chrono::seconds idle_timeout{75};
  std::chrono::seconds read_timeout{60};
};

int serve(ServeOptions const& opts);
// `lambdad doctor`: prints what the machine offers the sandbox; 0 if
// functions can run here, 1 if not.
int doctor();

}  // namespace lambdad
