// One execution environment: the bootstrap process (pid 1 of its own pid
// namespace), the pipe its stdout/stderr go to, the pidfd that says when it
// exits, its Runtime API endpoint, and its lifecycle state. On the io_context
// thread.
#pragma once

#include "invoker.hpp"

#include "endpoint.hpp"
#include "environment_state.hpp"
#include "logs/line_splitter.hpp"
#include "logs/store.hpp"
#include "process.hpp"
#include "shell.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

namespace lambdad::exec {

struct Launch;
struct Shell;

// Why an environment could not start, as the invoke reports it.
struct StartFailure {
  std::string error_type;  // Runtime.InvalidEntrypoint, ...
  std::string message;     // after "RequestId: <id> Error: "
};

class Environment : public std::enable_shared_from_this<Environment> {
 public:
  // Its log stream (the file under `logs`) is named now, before it starts.
  Environment(boost::asio::io_context& ioc, FunctionImage fn, logs::LogStore* logs, SandboxOptions const& sb);
  ~Environment();

  // Spawns the bootstrap. On success the environment is Initializing.
  std::optional<StartFailure> start();
  // Kills the process tree (SIGKILL to pid 1 of the namespace).
  void kill();
  // Asks it to end (SIGTERM; lambdad-init passes it to the bootstrap).
  void terminate();
  // Blocks until the process is reaped (shutdown only).
  void reap_now();

  runtime_api::EnvState state() const { return state_; }
  bool apply(runtime_api::EnvEvent e);
  FunctionImage const& image() const { return fn_; }
  runtime_api::Endpoint& endpoint() { return *endpoint_; }
  std::optional<std::chrono::steady_clock::time_point> first_next_at() const { return first_next_at_; }
  std::chrono::steady_clock::time_point spawned_at() const { return spawned_at_; }
  std::optional<sandbox::ExitStatus> exit_status() const { return exit_status_; }
  std::string const& stream_name() const { return stream_; }
  // The cgroup saw the OOM killer end one of its processes.
  bool out_of_memory() const;
  // Stops (or resumes) every process of the environment: idle ones are
  // frozen, as on Lambda. No-op without a freezer or when turned off.
  void freeze(bool frozen);
  // Writes one line of Lambda's own (START, END, REPORT, ...) to the log stream.
  void log_line(std::string_view line);
  // A line of Lambda's own in the middle of the runtime's output (EXTENSION):
  // in the invocation's log and the stream, in order.
  void platform_line(std::string_view line);
  // What the runtime reported on /init/error, and when.
  struct InitError {
    std::string type;
    std::string body;
    std::chrono::steady_clock::time_point at;
  };
  std::optional<InitError> const& init_error() const { return init_error_; }
  // Reads what the runtime has written so far and returns the captured lines.
  std::string take_output();
  // Peak resident memory of the process tree: the sum of each live
  // process's VmHWM; once the bootstrap has exited, the kernel's ru_maxrss
  // of the largest process it reaped. Nothing if neither can be read.
  std::optional<std::uint64_t> peak_memory_bytes() const;
  // The START line of the invocation a cold environment was started for:
  // written once init is over (CloudWatch shows the init output before it).
  std::string pending_start;
  void log_pending_start();
  std::chrono::steady_clock::time_point idle_since{};
  // Taken by an invocation (from before its spawn, for a cold start, until
  // the end of its invoke phase): never handed to another one meanwhile.
  bool claimed = false;
  // Claimed and answered: the invoke phase goes on until the runtime's next /next.
  bool answered = false;
  // Spawn to the first /next: what starting another such environment costs.
  std::chrono::steady_clock::duration startup_cost() const {
    return first_next_at_ ? *first_next_at_ - spawned_at_ : std::chrono::steady_clock::duration::zero();
  }
  bool retired = false;

 private:
  // The steps of start(): what to run and how; the pipes, cgroup and
  // channel it needs; the spawn; the endpoint and the readers wired to it.
  struct StartFds;
  sandbox::SpawnSpec make_spec(Launch const& launch, std::string const& api) const;
  std::optional<StartFailure> acquire(sandbox::SpawnSpec& spec, StartFds& fds, bool isolated);
  Result<void> open_cgroup(sandbox::SpawnSpec& spec, StartFds& fds) const;
  std::optional<StartFailure> spawn_child(sandbox::SpawnSpec& spec, StartFds& fds);
  void wire(util::Fd out, bool isolated);
  void build_sandbox(sandbox::SpawnSpec& spec) const;
  // What the function itself mounts: /opt (empty, a directory bound, or an
  // overlay of its layers, "top:...:bottom"), /var/task, /var/runtime (if
  // any) and the size of /tmp.
  struct FunctionMounts {
    enum class Opt { Empty, Bind, Overlay } opt = Opt::Empty;
    std::string opt_source;
    std::string task;
    std::string runtime;
    std::uint32_t tmp_mb = 512;
  };
  FunctionMounts function_mounts() const;
  // What a pre-made shell (see shell_pool.hpp) is sent: made before one is
  // taken, so that a function a shell cannot serve costs no shell.
  struct ShellStart {
    util::Fd task, opt, runtime;  // detached mounts (opt and runtime may be empty)
    util::FdPair out, status;     // the output and status pipes
    sandbox::ShellOrder order;    // borrows the descriptors above
  };
  std::optional<ShellStart> prepare_shell_start(sandbox::SpawnSpec const& spec) const;
  // Gives the shell this function. False when it could not be used: it is
  // discarded, and start() spawns anew.
  bool start_in_shell(Shell& shell, ShellStart& st, bool isolated, std::chrono::steady_clock::time_point began);
  // Whether the TCP connection from 127.0.0.1:`peer_port` to this
  // environment's Runtime API belongs to one of its processes (one sock_diag
  // query for the socket, then the processes' descriptors).
  bool owns_connection(std::uint16_t peer_port) const;
  // Without overlayfs: the layers merged once (hard links) and cached.
  std::optional<std::filesystem::path> merged_layers() const;
  boost::asio::awaitable<void> read_output(std::shared_ptr<Environment> self);
  boost::asio::awaitable<void> watch_exit(std::shared_ptr<Environment> self);
  // Reads what the pipe holds now; false once it reached end of file.
  bool drain_pipe();

  boost::asio::io_context& ioc_;
  FunctionImage fn_;
  SandboxOptions sb_;
  logs::LogStore* logs_;
  std::string log_key_;  // the log group's key in the store
  std::string stream_;
  sandbox::CgroupEnv cgroup_;
  util::Fd status_fd_;  // lambdad-init writes the bootstrap's wait status here
  util::Fd shell_control_;  // started in a pre-made shell: the daemon's end of its order socket
  bool frozen_ = false;
  static inline std::uint64_t counter_ = 0;  // names cgroups env-<n>
  static inline bool clone_into_cgroup_ = true;  // false once the kernel refused CLONE_INTO_CGROUP
  std::optional<InitError> init_error_;
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
