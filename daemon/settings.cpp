#include "settings.hpp"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lambdad {

namespace {

// Each file key and the flag it stands for. Sections only group keys.
struct KeyFlag {
  char const* key;
  char const* flag;
};
constexpr KeyFlag kKeys[] = {
    {"listen", "--listen"},
    {"state_dir", "--state-dir"},
    {"region", "--region"},
    {"account_id", "--account-id"},
    {"log_level", "--log-level"},
    {"default_function", "--default-function"},
    {"pool_threads", "--pool-threads"},
    {"sync_code", "--sync-code"},
    {"limits.max_concurrency", "--max-concurrency"},
    {"limits.max_environments", "--max-environments"},
    {"limits.keep_alive_ms", "--keep-alive-ms"},
    {"limits.drain_timeout", "--drain-timeout"},
    {"limits.shutdown_grace_ms", "--shutdown-grace-ms"},
    {"limits.idle_timeout", "--idle-timeout"},
    {"limits.read_timeout", "--read-timeout"},
    {"limits.max_entries", "--max-entries"},
    {"limits.max_zip_bytes", "--max-zip-bytes"},
    {"limits.max_unzipped_bytes", "--max-unzipped-bytes"},
    {"limits.max_payload_bytes", "--max-payload-bytes"},
    {"limits.max_event_payload_bytes", "--max-event-payload-bytes"},
    {"limits.event_retry_delay_ms", "--event-retry-delay-ms"},
    {"limits.log_retention_days", "--log-retention-days"},
    {"limits.stream_rate_limit", "--stream-rate-limit"},
    {"sandbox.enabled", nullptr},  // the inverse of --no-sandbox
    {"sandbox.rootfs", "--rootfs"},
    {"sandbox.runtime_dir", "--runtime-dir"},
    {"sandbox.user", "--sandbox-user"},
    {"sandbox.uid", "--sandbox-uid"},
    {"sandbox.gid", "--sandbox-gid"},
    {"sandbox.freeze", "--freeze"},
    {"sandbox.seccomp", "--seccomp"},
    {"sandbox.cgroups", "--cgroups"},
    {"sandbox.network", "--network"},
    {"sandbox.overlay", "--overlay"},
    {"sandbox.pool", "--sandbox-pool"},
    {"auth.mode", "--auth"},
    {"auth.url_permissions", "--url-permissions"},
    {"auth.keys", nullptr},  // [[auth.keys]] access_key_id, secret_access_key
    {"function_endpoint_url", "--function-endpoint-url"},
    {"hot_reload_dirs", "--hot-reload-dirs"},
    {"destinations.endpoint_url", "--destination-endpoint-url"},
    {"destinations.access_key_id", "--destination-access-key-id"},
    {"destinations.secret_access_key", "--destination-secret-access-key"},
};
constexpr char const* kSections[] = {"limits", "sandbox", "auth", "runtimes", "destinations"};

std::string where(std::string const& file, toml::node const& node) {
  return file + ":" + std::to_string(node.source().begin.line);
}

std::optional<std::string> scalar_text(toml::node const& node) {
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  return std::nullopt;
}

Result<void> load_keys(std::string const& file, toml::node const& node, api::Config& cfg) {
  auto const* arr = node.as_array();
  if (!arr) return plain_error(where(file, node) + ": auth.keys: expected [[auth.keys]] tables");
  for (auto const& item : *arr) {
    auto const* t = item.as_table();
    if (!t) return plain_error(where(file, item) + ": auth.keys: each entry is a table");
    std::string id, secret;
    for (auto const& [k, v] : *t) {
      auto const* s = v.as_string();
      if (k.str() == "access_key_id" && s) id = s->get();
      else if (k.str() == "secret_access_key" && s) secret = s->get();
      else return plain_error(where(file, v) + ": auth.keys: unknown key or not a string: `" + std::string(k.str()) + "`");
    }
    if (id.empty() || secret.empty())
      return plain_error(where(file, item) + ": auth.keys: needs access_key_id and secret_access_key");
    cfg.auth_keys[id] = secret;
  }
  return {};
}

void finish(Settings& s) {
  auto& o = s.opts;
  o.drain_timeout = std::chrono::seconds(s.drain);
  o.idle_timeout = std::chrono::seconds(s.idle);
  o.read_timeout = std::chrono::seconds(s.read);
  o.invoker.keep_alive = std::chrono::milliseconds(s.keep_alive_ms);
  o.shutdown_grace = std::chrono::milliseconds(s.shutdown_grace_ms);
  o.invoker.sandbox.identity = std::pair<uid_t, gid_t>{s.sandbox_uid, s.sandbox_gid};
  o.invoker.sandbox.isolated_network = s.network == "isolated";
  o.invoker.sandbox.enabled = !s.no_sandbox;
}

}  // namespace

std::string default_config_path() { return LAMBDAD_SYSCONFDIR "/lambdad/lambdad.toml"; }

namespace {

// A number with bounds, its default shown in --help.
template <class T>
void bounded(CLI::App* app, std::string const& name, T& value, std::string const& help, T low, T high) {
  app->add_option(name, value, help)->capture_default_str()->check(CLI::Range(low, high));
}

}  // namespace

void add_serve_options(CLI::App* serve, Settings& s) {
  auto& opts = s.opts;
  serve->add_option("--config", s.config,
                    "TOML configuration file; its keys are these flags' twins and a flag given here wins "
                    "(default: " + default_config_path() + " if it exists)");
  serve->add_option("--listen", opts.listen, "HOST:PORT to listen on (port 0 picks a free one)")
      ->capture_default_str();
  serve->add_option("--state-dir", opts.state_dir, "Directory for functions, layers, code and logs")
      ->capture_default_str();
  serve->add_option("--region", opts.api.identity.region, "Region in ARNs")->capture_default_str();
  serve->add_option("--account-id", opts.api.identity.account, "12-digit account id in ARNs and STS")
      ->capture_default_str()
      ->check([](std::string const& v) {
        return (v.size() == 12 && v.find_first_not_of("0123456789") == std::string::npos) ? "" : "must be 12 digits";
      });
  serve->add_option("--ready-file", opts.ready_file, "Write HOST:PORT to this file once listening");
  bounded(serve, "--pool-threads", opts.pool_threads, "Threads for unpacking, hashing and fsync", 1u, 64u);
  serve->add_option("--sync-code", opts.sync_code,
                    "Flush zips and unpacked trees to disk before acknowledging (records are always flushed)")
      ->capture_default_str();
  serve->add_option("--max-entries", opts.api.unpack.max_entries, "Most entries a zip may have")->capture_default_str();
  bounded(serve, "--max-zip-bytes", opts.api.max_zip_bytes,
          "Largest zip accepted in a request (Lambda: 50 MB)",
          std::uint64_t{1}, std::uint64_t{1} << 40);
  bounded(serve, "--max-unzipped-bytes", opts.api.max_unzipped_bytes,
          "Largest unzipped size of a function and its layers (Lambda: 250 MB)",
          std::uint64_t{1}, std::uint64_t{1} << 40);
  bounded(serve, "--max-payload-bytes", opts.api.max_payload_bytes,
          "Largest event of a RequestResponse Invoke (Lambda: 6 MB); a larger one gets 413",
          std::uint64_t{2}, std::uint64_t{64} << 20);
  bounded(serve, "--max-event-payload-bytes", opts.api.max_event_payload_bytes,
          "Largest event of an Event (asynchronous) Invoke (Lambda: 1 MB); a larger one gets 413",
          std::uint64_t{2}, std::uint64_t{64} << 20);
  bounded(serve, "--log-retention-days", opts.api.log_retention_days,
          "Days a log stream is kept after its last event, for groups without a retention policy (PutRetentionPolicy); "
          "0: forever", 0, 3653);
  bounded(serve, "--event-retry-delay-ms", opts.api.event_retry_delay_ms,
          "A failed Event invocation is tried again after this, and a third time after twice this "
          "(Lambda: 1 and 2 minutes); lower it in tests",
          std::uint64_t{0}, std::uint64_t{3600000});
  serve->add_option("--stream-rate-limit", opts.api.stream_rate_limit,
                    "Streamed responses at Lambda's bandwidth (the first 6 MiB at once, then 2 MiB/s); false: as "
                    "fast as the function writes (test suites)")
      ->capture_default_str();
  serve->add_option("--drain-timeout", s.drain,
                    "Seconds in-flight requests and invocations get to finish on SIGTERM; then they fail")
      ->capture_default_str();
  bounded(serve, "--shutdown-grace-ms", s.shutdown_grace_ms,
          "At stop, how long environments get after SHUTDOWN (extensions) and SIGTERM (runtime) before "
          "SIGKILL, as Lambda's shutdown phase",
          0L, 600000L);
  serve->add_option("--idle-timeout", s.idle, "Seconds an idle keep-alive connection stays open")->capture_default_str();
  serve->add_option("--read-timeout", s.read, "Seconds allowed to read one request body")->capture_default_str();
  bounded(serve, "--keep-alive-ms", s.keep_alive_ms,
          "How long an idle environment is kept for reuse (0: a fresh environment for every invoke)",
          0L, 86400000L);
  bounded(serve, "--max-concurrency", opts.invoker.max_concurrency,
          "Invocations in flight across all functions; past it Invoke answers 429",
          1, 100000);
  bounded(serve, "--max-environments", opts.invoker.max_environments,
          "Environments alive at once, idle ones included (0: bounded by --max-concurrency only); at the "
          "bound a cold start ends the idle environment unused the longest",
          0, 100000);
  serve->add_option("--default-function", opts.api.default_function,
                    "Function the RIE path /2015-03-31/functions/function/invocations runs (default: the only one)");
  serve->add_option("--log-level", opts.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  serve->add_option("--auth", opts.api.auth,
                    "none: any request is served; sigv4: requests must be signed (AWS Signature Version 4) with one "
                    "of the [[auth.keys]] of the configuration file")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "sigv4"}));
  serve->add_option("--runtime", opts.runtime_interpreters,
                    "ID=PATH: the interpreter a managed runtime runs on (python3.12=/usr/bin/python3.12); by "
                    "default the closest on PATH");
  serve->add_option("--function-endpoint-url", opts.function_endpoint_url,
                    "AWS_ENDPOINT_URL in every function's environment: where the SDKs send calls to services other "
                    "than Lambda and STS (which go to this daemon), e.g. a local S3");
  serve->add_option("--hot-reload-dirs", opts.hot_reload_dirs,
                    "Host directories hot-reloaded code (Code.S3Bucket \"hot-reload\", S3Key a directory) may come "
                    "from: any (every directory but /proc, /sys, /dev, /run, /boot, /etc, /root, /var/lib and the "
                    "state directory), none (hot reload refused), or DIR[:DIR...] (only under these)")
      ->capture_default_str();
  serve->add_option("--url-permissions", opts.api.url_permissions,
                    "What a function URL of AuthType NONE needs in the function's policy: aws (AWS since October "
                    "2025: lambda:InvokeFunctionUrl and lambda:InvokeFunction for principal *), url-only "
                    "(lambda:InvokeFunctionUrl, AWS before), off (nothing: for test suites that add no permission)")
      ->capture_default_str()
      ->check(CLI::IsMember({"aws", "url-only", "off"}));
  auto& dest = opts.api.destinations;
  serve->add_option("--destination-endpoint-url", dest.endpoint_url,
                    "http://HOST:PORT of the SQS, SNS and EventBridge APIs (a LocalStack or ElasticMQ you run) that "
                    "asynchronous invocation destinations and dead-letter queues of those kinds are delivered to; "
                    "without it such destinations are refused")
      ->check([](std::string const& v) { return v.empty() ? "" : events::check_endpoint(v).value_or(""); });
  serve->add_option("--destination-access-key-id", dest.access_key_id, "The access key id deliveries are signed with")
      ->capture_default_str();
  serve->add_option("--destination-secret-access-key", dest.secret_access_key,
                    "Its secret (better kept in the configuration file than on a command line)")
      ->capture_default_str();
  auto& sb = opts.invoker.sandbox;
  serve->add_option("--rootfs", sb.rootfs,
                    "A root filesystem directory (e.g. an unpacked Amazon Linux 2023) for the environments; "
                    "default: the host's /usr, /bin and /lib*");
  serve->add_option("--runtime-dir", sb.runtime_dir, "A directory bound read-only at /var/runtime in every environment");
  serve->add_option("--sandbox-user", sb.user, "Name of the user functions run as")->capture_default_str();
  bounded(serve, "--sandbox-uid", s.sandbox_uid, "Its uid (not 0)", 1u, 4294967294u);
  bounded(serve, "--sandbox-gid", s.sandbox_gid, "Its gid (not 0)", 1u, 4294967294u);
  serve->add_option("--freeze", sb.freeze, "Freeze idle environments (cgroup freezer), as Lambda does")
      ->capture_default_str();
  serve->add_option("--seccomp", sb.seccomp,
                    "Run every environment under a system-call filter (mounts, namespaces, keyrings, bpf, ptrace, "
                    "modules... refused with EPERM)")
      ->capture_default_str();
  serve->add_option("--cgroups", opts.use_cgroups, "Put each environment in a cgroup (memory and pids limits)")
      ->capture_default_str();
  serve->add_option("--network", s.network,
                    "host: environments share the host's network (Runtime API on a loopback port each); isolated: "
                    "each has its own network namespace with only loopback, Runtime API at 127.0.0.1:9001")
      ->capture_default_str()
      ->check(CLI::IsMember({"host", "isolated"}));
  serve->add_flag("--no-sandbox", s.no_sandbox,
                  "Run bootstraps as plain processes (no namespaces, mounts, user change or limits): for machines "
                  "without namespaces; loudly unsafe");
  serve->add_option("--overlay", sb.overlay,
                    "Merge layers with overlayfs (false: a merged tree of hard links, made once per layer set)")
      ->capture_default_str();
  bounded(serve, "--sandbox-pool", sb.pool,
          "Pre-made sandboxes kept ready (namespaces, cgroup, root filesystem), each given to the next cold "
          "start of any function; 0: each is made when its environment starts",
          std::size_t{0}, std::size_t{64});
}

Result<void> load_config(CLI::App* serve, Settings& s) {
  std::string file = s.config;
  if (file.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(default_config_path(), ec)) file = default_config_path();
  }
  s.opts.config_file = file;
  if (!file.empty()) {
    toml::table doc;
    try {
      doc = toml::parse_file(file);
    } catch (toml::parse_error const& e) {
      if (!e.source().begin) return plain_error(file + ": " + std::string(e.description()));
      return plain_error(file + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
    }
    // Flatten to "section.key" and check every key before applying any.
    std::vector<std::pair<std::string, toml::node const*>> entries;
    for (auto const& [k, v] : doc) {
      std::string key(k.str());
      bool section = std::find_if(std::begin(kSections), std::end(kSections),
                                  [&](char const* n) { return key == n; }) != std::end(kSections);
      if (section) {
        auto const* t = v.as_table();
        if (!t) return plain_error(where(file, v) + ": `" + key + "` is a section: write [" + key + "]");
        for (auto const& [k2, v2] : *t) entries.emplace_back(key + "." + std::string(k2.str()), &v2);
      } else {
        entries.emplace_back(key, &v);
      }
    }
    bool runtime_flags = serve->get_option("--runtime")->count() > 0;  // the command line's win
    for (auto const& [key, node] : entries) {
      if (key.rfind("runtimes.", 0) == 0) {  // [runtimes] "python3.12" = "/usr/bin/python3.12"
        auto text = node->value<std::string>();
        if (!text) return plain_error(where(file, *node) + ": " + key + ": expected the interpreter's path (a string)");
        CLI::Option* opt = serve->get_option("--runtime");
        if (!runtime_flags) {
          opt->add_result(key.substr(9) + "=" + *text);
          opt->run_callback();
        }
        continue;
      }
      auto const* known =
          std::find_if(std::begin(kKeys), std::end(kKeys), [&key = key](KeyFlag const& kf) { return key == kf.key; });
      if (known == std::end(kKeys)) return plain_error(where(file, *node) + ": unknown key `" + key + "`");
      if (key == "auth.keys") {
        if (auto r = load_keys(file, *node, s.opts.api); !r) return r;
        continue;
      }
      auto text = scalar_text(*node);
      if (!text) return plain_error(where(file, *node) + ": " + key + ": expected a string, an integer or a boolean");
      if (key == "sandbox.enabled") {
        if (!node->is_boolean()) return plain_error(where(file, *node) + ": sandbox.enabled: expected true or false");
        if (serve->get_option("--no-sandbox")->count() == 0) s.no_sandbox = !node->as_boolean()->get();
        continue;
      }
      CLI::Option* opt = serve->get_option(known->flag);
      if (opt->count() > 0) continue;  // the command line wins
      try {
        opt->add_result(*text);
        opt->run_callback();
      } catch (CLI::Error const& e) {
        return plain_error(where(file, *node) + ": " + key + " = " + *text + ": " + e.what());
      }
    }
  }
  struct stat st {};
  if (!file.empty() && !s.opts.api.auth_keys.empty() && ::stat(file.c_str(), &st) == 0 && (st.st_mode & 0044))
    s.opts.config_warnings.push_back(file + " holds secret access keys and other users can read it (mode " +
                                     std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                                     std::to_string(st.st_mode & 7) + "): chmod 600 it");
  if (s.opts.api.auth == "sigv4" && s.opts.api.auth_keys.empty())
    return plain_error((file.empty() ? std::string("--auth sigv4") : file + ": auth.mode = sigv4") +
                       ": no access keys: add [[auth.keys]] tables with access_key_id and secret_access_key");
  finish(s);
  return {};
}

Result<ServeOptions> reread_settings(std::vector<std::string> const& serve_args) {
  CLI::App app;
  Settings s;
  add_serve_options(&app, s);
  std::vector<std::string> reversed(serve_args.rbegin(), serve_args.rend());
  try {
    app.parse(reversed);
  } catch (CLI::Error const& e) {
    return plain_error(std::string("command line: ") + e.what());
  }
  if (auto r = load_config(&app, s); !r) return r.error();
  return s.opts;
}

}  // namespace lambdad
