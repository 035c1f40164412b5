// One execution environment: the bootstrap process (pid 1 of its own pid
// namespace), the pipe its stdout/stderr go to, the pidfd that says when it
// exits, its Runtime API endpoint, and its lifecycle state. On the io_context
// thread.
#pragma once

#include "invoker.hpp"

#include "endpoint.hpp"
#include "environment_state.hpp"
#include "logs/line_splitter.hpp"
#include "process.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

namespace lambdad::exec {

// Why an environment could not start, as the invoke reports it.
struct StartFailure {
  std::string error_type;  // Runtime.InvalidEntrypoint, ...
  std::string message;     // after "RequestId: <id> Error: "
};

class Environment : public std::enable_shared_from_this<Environment> {
 public:
  Environment(boost::asio::io_context& ioc, FunctionImage fn);
  ~Environment();

  // Spawns the bootstrap. On success the environment is Initializing.
  std::optional<StartFailure> start();
  // Kills the process tree (SIGKILL to pid 1 of the namespace).
  void kill();
  // Blocks until the process is reaped (shutdown only).
  void reap_now();

  runtime_api::EnvState state() const { return state_; }
  bool apply(runtime_api::EnvEvent e);
  FunctionImage const& image() const { return fn_; }
  runtime_api::Endpoint& endpoint() { return *endpoint_; }
  std::optional<std::chrono::steady_clock::time_point> first_next_at() const { return first_next_at_; }
  std::chrono::steady_clock::time_point spawned_at() const { return spawned_at_; }
  std::optional<sandbox::ExitStatus> exit_status() const { return exit_status_; }
  // Reads what the runtime has written so far and returns the captured lines.
  std::string take_output();
  // Peak resident memory of the process tree (sum of each live process's
  // VmHWM), or nothing once the bootstrap has exited.
  std::optional<std::uint64_t> peak_memory_bytes() const;
  std::chrono::steady_clock::time_point idle_since{};
  bool retired = false;

 private:
  boost::asio::awaitable<void> read_output(std::shared_ptr<Environment> self);
  boost::asio::awaitable<void> watch_exit(std::shared_ptr<Environment> self);
  void drain_pipe();

  boost::asio::io_context& ioc_;
  FunctionImage fn_;
  std::shared_ptr<runtime_api::Endpoint> endpoint_;
  sandbox::Child child_;
  boost::asio::posix::stream_descriptor out_;
  boost::asio::posix::stream_descriptor pidfd_;
  logs::LineSplitter splitter_;
  std::string captured_;
  runtime_api::EnvState state_ = runtime_api::EnvState::Creating;
  std::chrono::steady_clock::time_point spawned_at_{};
  std::optional<std::chrono::steady_clock::time_point> first_next_at_;
  std::optional<sandbox::ExitStatus> exit_status_;
};

}  // namespace lambdad::exec
