// lambdad's command line (CLI11): `serve` runs the daemon; `invoke` and
// `logs` talk to a running one. A bad flag is reported and exits 2.
#include "cli/client.hpp"
#include "serve.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  CLI::App app{"lambdad: a native local AWS Lambda"};
  app.require_subcommand(1);
  lambdad::ServeOptions opts;
  std::string log_level = "info";
  unsigned drain = 10, idle = 75, read = 60;

  auto* serve = app.add_subcommand("serve", "Run the daemon: Lambda and STS APIs on one HTTP port");
  serve->add_option("--listen", opts.listen, "HOST:PORT to listen on (port 0 picks a free one)")
      ->capture_default_str();
  serve->add_option("--state-dir", opts.state_dir, "Directory for functions, layers, code and logs")
      ->capture_default_str();
  serve->add_option("--region", opts.api.identity.region, "Region in ARNs")->capture_default_str();
  serve->add_option("--account-id", opts.api.identity.account, "12-digit account id in ARNs and STS")
      ->capture_default_str()
      ->check([](std::string const& s) {
        return (s.size() == 12 && s.find_first_not_of("0123456789") == std::string::npos) ? "" : "must be 12 digits";
      });
  serve->add_option("--ready-file", opts.ready_file, "Write HOST:PORT to this file once listening");
  serve->add_option("--pool-threads", opts.pool_threads, "Threads for unpacking, hashing and fsync")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  serve->add_option("--sync-code", opts.sync_code,
                    "Flush zips and unpacked trees to disk before acknowledging (records are always flushed)")
      ->capture_default_str();
  serve->add_option("--max-entries", opts.api.unpack.max_entries, "Most entries a zip may have")->capture_default_str();
  serve->add_option("--drain-timeout", drain, "Seconds to let in-flight requests finish on SIGTERM")
      ->capture_default_str();
  serve->add_option("--idle-timeout", idle, "Seconds an idle keep-alive connection stays open")->capture_default_str();
  serve->add_option("--read-timeout", read, "Seconds allowed to read one request body")->capture_default_str();
  long keep_alive_ms = 300000;
  serve->add_option("--keep-alive-ms", keep_alive_ms,
                    "How long an idle environment is kept for reuse (0: a fresh environment for every invoke)")
      ->capture_default_str();
  serve->add_option("--max-concurrency", opts.invoker.max_concurrency,
                    "Invocations in flight across all functions; past it Invoke answers 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve->add_option("--default-function", opts.api.default_function,
                    "Function the RIE path /2015-03-31/functions/function/invocations runs (default: the only one)");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  auto& sb = opts.invoker.sandbox;
  serve->add_option("--rootfs", sb.rootfs,
                    "A root filesystem directory (e.g. an unpacked Amazon Linux 2023) for the environments; "
                    "default: the host's /usr, /bin and /lib*");
  serve->add_option("--runtime-dir", sb.runtime_dir, "A directory bound read-only at /var/runtime in every environment");
  serve->add_option("--sandbox-user", sb.user, "Name of the user functions run as")->capture_default_str();
  unsigned sandbox_uid = 993, sandbox_gid = 990;
  serve->add_option("--sandbox-uid", sandbox_uid, "Its uid (not 0)")->capture_default_str()->check(CLI::Range(1u, 4294967294u));
  serve->add_option("--sandbox-gid", sandbox_gid, "Its gid (not 0)")->capture_default_str()->check(CLI::Range(1u, 4294967294u));
  serve->add_option("--freeze", sb.freeze, "Freeze idle environments (cgroup freezer), as Lambda does")
      ->capture_default_str();
  serve->add_option("--cgroups", opts.use_cgroups, "Put each environment in a cgroup (memory and pids limits)")
      ->capture_default_str();
  std::string network = "host";
  serve->add_option("--network", network,
                    "host: environments share the host's network (Runtime API on a loopback port each); isolated: "
                    "each has its own network namespace with only loopback, Runtime API at 127.0.0.1:9001")
      ->capture_default_str()
      ->check(CLI::IsMember({"host", "isolated"}));
  bool no_sandbox = false;
  serve->add_flag("--no-sandbox", no_sandbox,
                  "Run bootstraps as plain processes (no namespaces, mounts, user change or limits): for machines "
                  "without namespaces; loudly unsafe");
  serve->add_option("--overlay", sb.overlay,
                    "Merge layers with overlayfs (false: a merged tree of hard links, made once per layer set)")
      ->capture_default_str();
  auto* doctor = app.add_subcommand("doctor", "Print what this machine offers the sandbox, and what follows");

  std::string endpoint = "http://127.0.0.1:9000";
  if (char const* e = std::getenv("LAMBDAD_ENDPOINT")) endpoint = e;
  std::string fn_name, event_path;
  auto* invoke = app.add_subcommand("invoke", "Invoke a function and print what the console's Test tab shows: "
                                              "Response, Function Logs, Request ID (exit 1 if the function failed)");
  invoke->add_option("name", fn_name, "Function name or ARN")->required();
  invoke->add_option("--event", event_path, "File holding the event (JSON), or - for stdin; default {}");
  invoke->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "Print a function's log group /aws/lambda/NAME, oldest first");
  logs->add_option("name", fn_name, "Function name")->required();
  logs->add_flag("-f,--follow", follow, "Keep printing new lines as the function writes them");
  logs->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");

  CLI11_PARSE(app, argc, argv);
  if (invoke->parsed()) return lambdad::cli::invoke(endpoint, fn_name, event_path);
  if (logs->parsed()) return lambdad::cli::logs(endpoint, fn_name, follow);

  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));
  opts.drain_timeout = std::chrono::seconds(drain);
  opts.invoker.keep_alive = std::chrono::milliseconds(keep_alive_ms);
  sb.identity = std::pair<uid_t, gid_t>{sandbox_uid, sandbox_gid};
  sb.isolated_network = network == "isolated";
  sb.enabled = !no_sandbox;
  if (doctor->parsed()) return lambdad::doctor();
  opts.idle_timeout = std::chrono::seconds(idle);
  opts.read_timeout = std::chrono::seconds(read);
  if (serve->parsed()) return lambdad::serve(opts);
  return 0;
}
