// Execution: environments that run a function's bootstrap in a private mount
// and pid namespace with its code at /var/task and its layers at /opt, the
// Runtime API endpoint each one serves, warm reuse, and the log of each
// invocation (START, the runtime's output, END, REPORT). Runs on the
// io_context thread; knows nothing of HTTP routing or the store's layout.
#pragma once

#include "cgroup.hpp"
#include "endpoint.hpp"
#include "process.hpp"
#include "seccomp.hpp"
#include "logs/format.hpp"
#include "logs/platform.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::exec {

// What an environment runs: a snapshot of a function version's
// configuration at invoke time.
// A managed runtime (python3.x, nodejs*.x): its interpreter runs lambdad's
// runtime client, bound read-only at /var/runtime, instead of a bootstrap.
struct ManagedRuntime {
  std::filesystem::path interpreter;  // as seen inside the environment
  std::filesystem::path client_dir;   // on the host
  std::string entry;                  // relative to /var/runtime
  std::map<std::string, std::string> env;  // what AWS sets for the runtime
  std::string note;  // said in the function's first INIT_START line (a version mismatch), or ""
  std::vector<std::string> flags;  // the interpreter's own, before the entry point
};

struct FunctionImage {
  std::string name;
  std::string version = "$LATEST";  // or a published version's number
  std::string arn;  // as the invocation qualified it
  std::string revision;  // environments of another revision are never reused
  std::string region;
  std::string account;
  std::string runtime;
  std::string handler;
  int memory_mb = 128;
  int timeout_s = 3;
  int ephemeral_mb = 512;
  std::optional<int> reserved_concurrency;  // PutFunctionConcurrency
  std::map<std::string, std::string> env;
  std::filesystem::path code_tree;
  std::vector<std::filesystem::path> layer_trees;  // in the function's order: later wins
  std::optional<ManagedRuntime> managed;
  // Set for every function by the daemon: credentials, the endpoints of the
  // daemon itself (AWS_ENDPOINT_URL_LAMBDA...); the function's own win.
  std::map<std::string, std::string> base_env;
  logs::LogConfig log;  // LoggingConfig: the format, levels and log group
};

struct InvokeRequest {
  std::string payload;
  std::optional<std::string> client_context;  // JSON, decoded
  std::string invocation_type = "RequestResponse";  // or "Event": for the history
  // Set for a caller that takes the answer as a stream: a streamed answer
  // goes there as the runtime writes it (InvokeResult::streamed), not into body.
  std::shared_ptr<runtime_api::ResponseSink> sink;
  std::string request_id;  // "" for a new one; set by a caller that needs it before the answer
};

struct PhaseEnd;

struct InvokeResult {
  std::string function;
  std::string invocation_type;
  std::string request_id;
  // Set when the invoke was refused for concurrency: TooManyRequestsException's Reason.
  std::optional<std::string> throttled;
  // Set when the daemon is stopping and took no new invocation: the reason.
  std::optional<std::string> refused;
  bool function_error = false;  // X-Amz-Function-Error: Unhandled
  std::string body;
  bool streamed = false;  // the runtime streamed its answer (to InvokeRequest::sink, when given)
  std::string log;  // START ... REPORT, as the console shows it
  // For metrics and the invocation history: how it ended ("success",
  // "function_error", "timeout", "runtime_exit", "out_of_memory",
  // "init_error", "stopped"; "throttled", "refused" before it ran), whether
  // it started an environment, and REPORT's figures.
  std::string outcome = "success";
  bool cold = false;
  logs::ReportFigures figures;
  std::chrono::system_clock::time_point started_at{};
  // Set when invoke() returned at the runtime's answer while the invoke
  // phase goes on (until the runtime is back in /next): `log` and
  // `figures` above are then empty, and phase_end holds the whole result
  // once it is over.
  std::shared_ptr<PhaseEnd> phase_end;
};

// The end of an invoke phase that outlasts the answer ("Lambda execution
// environment lifecycle": the phase ends when the runtime and every
// extension call Next again). On the io_context thread.
struct PhaseEnd {
  explicit PhaseEnd(boost::asio::any_io_executor ex) : signal(std::move(ex)) {}
  // Until the phase is over; then `result` is whole (log to REPORT, figures).
  boost::asio::awaitable<void> wait();
  void complete(InvokeResult whole);
  bool done = false;
  InvokeResult result;
  boost::asio::steady_timer signal;
};

// How environments are isolated (the sandbox issue): plain data the
// daemon fills from its flags and what the machine offers.
class ShellPool;

struct SandboxOptions {
  // false (--no-sandbox): bootstraps run as plain processes of the daemon's
  // user, in the code tree on the host, with no /opt; for machines without
  // namespaces, with a loud warning.
  bool enabled = true;
  // lambdad-init, opened O_PATH: pid 1 of each environment (reaps orphans,
  // reports the bootstrap's status). -1: the bootstrap is pid 1 itself.
  int init_fd = -1;
  // Not root: each environment gets a user namespace of its own, mapping the
  // daemon's uid and gid to the sandbox user's; no cgroups.
  bool rootless = false;
  bool pivot_root = true;            // build a root filesystem and pivot into it
  // Layers merged by a read-only overlay; false: a merged tree of hard
  // links is made once per layer set under `merged_dir` and bound at /opt.
  bool overlay = true;
  std::string merged_dir;
  std::string root_mount;            // an empty directory: the new root's mount point
  // The mounts that build the root filesystem at root_mount (rootfs_ops),
  // made once at start: the same for every environment.
  std::shared_ptr<std::vector<sandbox::MountOp> const> root_ops;
  std::string rootfs;                // --rootfs DIR; empty: the host's /usr, /bin, /lib*
  std::string runtime_dir;           // bound read-only at /var/runtime when set
  std::string user = "sbx_user1051";
  std::optional<std::pair<uid_t, gid_t>> identity{std::pair<uid_t, gid_t>{993, 990}};  // unset: stay root
  std::string hostname = "lambdad-sandbox";
  std::uint64_t pids_max = 1024;
  // Its own network namespace with only loopback; the Runtime API at
  // 127.0.0.1:9001 inside it, as on Lambda. Off: the host's network.
  bool isolated_network = false;
  bool freeze = true;                 // freeze idle environments (cgroup freezer)
  // --seccomp: every environment runs under sandbox/seccomp's filter; the
  // daemon builds it at start (none: where the kernel has no filters).
  bool seccomp = true;
  std::shared_ptr<sandbox::SeccompFilter const> filter;
  sandbox::Cgroups* cgroups = nullptr;  // none: no limits, memory from /proc
  // Pre-made sandboxes to start environments in (the invoker's); none: each
  // is made when its environment starts.
  ShellPool* shells = nullptr;
  // How many pre-made sandboxes to keep ready (0: none); see shell_pool.hpp.
  std::size_t pool = 2;
};

struct InvokerOptions {
  std::chrono::milliseconds keep_alive{std::chrono::minutes(5)};  // 0: a fresh environment every invoke
  std::chrono::seconds init_limit{10};                           // Lambda's init phase limit
  int max_concurrency = 64;  // invocations in flight across all functions
  // Environments alive at once (idle ones included); 0: no bound but
  // max_concurrency. At the bound a cold start ends the idle environment
  // unused the longest; with none idle it is throttled.
  int max_environments = 0;
  SandboxOptions sandbox;
};

class Environment;
}  // namespace lambdad::exec
namespace lambdad::logs {
class LogStore;
}
namespace lambdad::exec {

class Invoker {
 public:
  // Each environment's lines go to `logs` (a log stream per environment);
  // without one they are only returned with the invocation.
  Invoker(boost::asio::io_context& ioc, InvokerOptions opts, logs::LogStore* logs = nullptr);
  ~Invoker();

  // Runs one invocation; returns when the runtime answers (or the
  // invocation fails). The environment stays busy until the invoke phase
  // ends; then END and REPORT are written and on_finished is called.
  boost::asio::awaitable<InvokeResult> invoke(FunctionImage fn, InvokeRequest req);
  // Until every invocation of `function` (of any, if empty) that has
  // answered has ended its invoke phase, and so been passed to on_finished;
  // at most `limit`.
  boost::asio::awaitable<void> answered_recorded(std::string function, std::chrono::steady_clock::duration limit);
  // Called once for every invocation, with its whole result (throttled and
  // refused ones too): for metrics and the invocation history.
  std::function<void(InvokeResult const&)> on_finished;
  // Idle environments of `name` end now; busy ones end after their invoke.
  void retire_function(std::string const& name);
  // Every environment ends (idle ones now, busy ones after their invoke):
  // the next invokes start cold. How many there were.
  std::size_t retire_all();
  // Ends every environment and reaps its processes (no orphan, no zombie).
  void shutdown();
  // The daemon is stopping (SIGTERM): new invocations are refused.
  void begin_stop() { stopping_ = true; }
  // Then, once the drain time is over: invocations still running fail
  // (their environments are killed; the caller gets Sandbox.Stopped); every
  // environment gets SHUTDOWN (its extensions) and SIGTERM (its runtime),
  // then SIGKILL after `grace`; all are reaped and their cgroups removed.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds drained_for, std::chrono::milliseconds grace);
  // SIGHUP: what can change while running.
  void set_limits(std::chrono::milliseconds keep_alive, int max_concurrency, int max_environments) {
    opts_.keep_alive = keep_alive;
    opts_.max_concurrency = max_concurrency;
    opts_.max_environments = max_environments;
    if (reaper_) reaper_->cancel();  // a shorter keep-alive counts now
  }
  std::size_t environment_count() const { return envs_.size(); }
  // How many environments are in each state ("idle" ones waiting, frozen
  // or not; "invoking"; "initializing"; ...).
  std::map<std::string, int> environments_by_state() const;
  int in_flight() const { return total_in_flight_; }
  int max_concurrency() const { return opts_.max_concurrency; }

 private:
  struct InFlight;
  // Concurrency as Lambda counts it; false (and `result` says why) if refused.
  bool admit(FunctionImage const& fn, InvokeResult& result) const;
  // An idle environment, or a new one started; null if none (`result` says why).
  std::shared_ptr<Environment> acquire(FunctionImage const& fn, InvokeResult& result);
  // Fills the caller's part of `result` from the runtime's answer.
  void answer(runtime_api::Outcome& out, FunctionImage const& fn, InvokeResult& result);
  // After the answer: waits for the invoke phase to end, then writes END and
  // REPORT and frees the environment.
  boost::asio::awaitable<void> end_phase(std::shared_ptr<Environment> env, FunctionImage fn, InvokeResult result,
                                         runtime_api::Outcome out, std::chrono::steady_clock::time_point began,
                                         std::shared_ptr<InFlight> counted);
  // The invocation failed without an answer (timeout, exit, stop): its
  // body, log and figures; frees the environment.
  void fail(Environment& env, std::shared_ptr<Environment> const& ref, FunctionImage const& fn,
            runtime_api::Outcome const& out, bool cold, InvokeResult& result);
  logs::ReportFigures figures_of(Environment& env, FunctionImage const& fn, runtime_api::Outcome const& out,
                                 std::chrono::steady_clock::time_point end, bool cold) const;
  void finished(InvokeResult const& result) const {
    if (on_finished) on_finished(result);
  }
  std::shared_ptr<Environment> take_idle(FunctionImage const& fn);
  // With no idle environment of `fn` but one that has answered and is not
  // yet back in /next: waits for it to become idle, at most as long as its
  // own cold start took (waiting longer would be slower than starting
  // another). A client invoking back to back over loopback is faster than
  // the runtime's next /next; on Lambda the network is not.
  boost::asio::awaitable<void> await_finishing(FunctionImage fn);
  // Until the next invoke phase ends (any environment's), or `until`.
  boost::asio::awaitable<void> next_phase_end(std::chrono::steady_clock::time_point until);
  // At max_environments: ends the idle environment unused the longest;
  // false if every one is busy.
  bool make_room();
  // Environments whose runtime ended while nobody used them leave envs_.
  void drop_dead();
  void release(std::shared_ptr<Environment> const& env);
  // Ends the idle environments whose keep-alive passed, then sleeps until the
  // next one is due; ends when none is idle. One at most (reaper_ set).
  boost::asio::awaitable<void> reap_idle();

  boost::asio::io_context& ioc_;
  InvokerOptions opts_;
  // Before the environments: the pool's thread is the parent of those made
  // from its shells, so it is destroyed after them.
  std::unique_ptr<ShellPool> shells_;
  logs::LogStore* logs_;
  std::vector<std::shared_ptr<Environment>> envs_;
  std::vector<boost::asio::steady_timer*> phase_waiters_;  // woken whenever an invoke phase ends
  // Killed, not yet reaped: shutdown reaps these too, so none outlives us.
  std::vector<std::shared_ptr<Environment>> dying_;
  std::map<std::string, int> in_flight_;  // per function
  int total_in_flight_ = 0;
  bool stopping_ = false;
  boost::asio::steady_timer* reaper_ = nullptr;  // reap_idle's timer while it runs
  // Set while stop() fails the invocations still running: how long they had.
  std::optional<std::chrono::milliseconds> aborted_after_;
};

}  // namespace lambdad::exec
