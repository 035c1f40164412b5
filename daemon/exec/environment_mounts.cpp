// What an environment mounts of its function's own (/opt, /var/task,
// /var/runtime, /tmp), as mount ops for a fresh spawn or as detached mounts
// for a pre-made sandbox shell, and the start in such a shell.
#include "environment.hpp"

#include "rootfs.hpp"
#include "shell.hpp"
#include "shell_pool.hpp"
#include "util/clock.hpp"
#include "util/crypto.hpp"

#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/resource.h>

namespace lambdad::exec {

namespace fs = std::filesystem;

namespace {

// Copies `from` into `to` as hard links (symlinks as symlinks); what is
// already in `to` is replaced, so later layers win as in an overlay.
void link_tree(fs::path const& from, fs::path const& to) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    auto target = to / fs::relative(it->path(), from);
    auto st = it->symlink_status();
    if (fs::is_directory(st)) {
      if (!fs::is_directory(fs::symlink_status(target))) {
        fs::remove_all(target, ec);
        fs::create_directories(target, ec);
      }
      continue;
    }
    fs::remove_all(target, ec);
    if (fs::is_symlink(st)) fs::copy_symlink(it->path(), target, ec);
    else {
      fs::create_hard_link(it->path(), target, ec);
      if (ec) fs::copy_file(it->path(), target, ec);  // another filesystem (a hot-reloaded layer)
    }
  }
}

}  // namespace

std::optional<fs::path> Environment::merged_layers() const {
  std::string key;
  for (auto const& t : fn_.layer_trees) key += t.string() + "\n";
  auto dir = fs::path(sb_.merged_dir) / util::to_hex(util::sha256(key));
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;
  auto tmp = fs::path(sb_.merged_dir) / (".tmp-" + util::uuid4());
  fs::create_directories(tmp, ec);
  for (auto const& t : fn_.layer_trees) link_tree(t, tmp);
  fs::rename(tmp, dir, ec);
  if (ec && !fs::is_directory(dir)) {
    spdlog::warn("function {}: merging its layers into {}: {}", fn_.name, dir.string(), ec.message());
    fs::remove_all(tmp, ec);
    return std::nullopt;
  }
  fs::remove_all(tmp, ec);  // lost a race with an identical merge
  spdlog::info("function {}: layers merged into {} (no overlayfs)", fn_.name, dir.string());
  return dir;
}

Environment::FunctionMounts Environment::function_mounts() const {
  FunctionMounts m;
  // /opt: the layers, later ones winning (overlayfs takes the top first).
  if (fn_.layer_trees.size() == 1) {
    // A read-only overlay needs two lower layers; one layer is bound as is.
    m.opt = FunctionMounts::Opt::Bind;
    m.opt_source = fn_.layer_trees.front().string();
  } else if (fn_.layer_trees.size() > 1 && !sb_.overlay) {
    auto merged = merged_layers();
    m.opt = FunctionMounts::Opt::Bind;
    m.opt_source = merged ? merged->string() : std::string("/nonexistent");
  } else if (fn_.layer_trees.size() > 1) {
    m.opt = FunctionMounts::Opt::Overlay;
    for (auto it = fn_.layer_trees.rbegin(); it != fn_.layer_trees.rend(); ++it)
      m.opt_source += (m.opt_source.empty() ? "" : ":") + it->string();
  }
  m.task = fn_.code_tree.string();
  // A managed runtime's client at /var/runtime; else --runtime-dir, if any.
  m.runtime = fn_.managed ? fn_.managed->client_dir.string() : sb_.runtime_dir;
  m.tmp_mb = static_cast<std::uint32_t>(fn_.ephemeral_mb);
  return m;
}

void Environment::build_sandbox(sandbox::SpawnSpec& spec) const {
  using Op = sandbox::MountOp;
  if (!sb_.enabled) {
    // A plain process still gets Lambda's open files, not the daemon's raised limit.
    spec.rlimits = {{RLIMIT_NOFILE, environment_open_files()}};
    return;
  }
  base_spec(sb_, spec);
  // Without a root of its own, the environment's mounts go over the host's
  // paths in its private namespace.
  std::string r = sb_.pivot_root ? sb_.root_mount : "";
  auto m = function_mounts();
  switch (m.opt) {
    case FunctionMounts::Opt::Empty:
      spec.mounts.push_back({Op::Kind::Tmpfs, "", r + "/opt", "size=4k,mode=0755"});
      break;
    case FunctionMounts::Opt::Bind:
      spec.mounts.push_back({Op::Kind::BindRO, m.opt_source, r + "/opt", ""});
      break;
    case FunctionMounts::Opt::Overlay:
      spec.mounts.push_back({Op::Kind::Overlay, "", r + "/opt", "lowerdir=" + m.opt_source});
      break;
  }
  if (!sb_.pivot_root) {
    spec.mounts.push_back({Op::Kind::Tmpfs, "", "/var", "size=1m,mode=0755"});
    spec.mounts.push_back({Op::Kind::Mkdir, "", "/var/task", ""});
    spec.mounts.push_back({Op::Kind::Mkdir, "", "/var/runtime", ""});
  }
  spec.mounts.push_back({Op::Kind::BindRO, m.task, r + "/var/task", ""});
  if (!m.runtime.empty()) spec.mounts.push_back({Op::Kind::BindRO, m.runtime, r + "/var/runtime", ""});
  spec.mounts.push_back({Op::Kind::Tmpfs, "", r + "/tmp", "size=" + std::to_string(m.tmp_mb) + "m,mode=1777"});
  if (sb_.pivot_root) {
    spec.mounts.push_back(sandbox::finish_op(r));
    spec.new_root = r;
  }
}

std::optional<Environment::ShellStart> Environment::prepare_shell_start(sandbox::SpawnSpec const& spec) const {
  auto skip = [&](std::string const& why) {
    spdlog::warn("function {}: not started in a pre-made sandbox ({}): a new one is made", fn_.name, why);
    return std::optional<ShellStart>();
  };
  ShellStart st;
  auto m = function_mounts();
  auto task = sandbox::detached_bind(m.task);
  if (!task) return skip(task.error().message());
  st.task = std::move(*task);
  if (m.opt != FunctionMounts::Opt::Empty) {
    auto opt = m.opt == FunctionMounts::Opt::Bind ? sandbox::detached_bind(m.opt_source)
                                                  : sandbox::detached_overlay(fn_.layer_trees);
    if (!opt) return skip(opt.error().message());
    st.opt = std::move(*opt);
  }
  if (!m.runtime.empty()) {
    auto runtime = sandbox::detached_bind(m.runtime);
    if (!runtime) return skip(runtime.error().message());
    st.runtime = std::move(*runtime);
  }
  auto out = util::make_pipe(O_CLOEXEC);
  auto status = util::make_pipe(O_CLOEXEC | O_NONBLOCK);
  if (!out || !status) return skip("could not create its pipes");
  st.out = std::move(*out);
  st.status = std::move(*status);
  auto& o = st.order;
  // As lambdad-init runs it: the path, then the bootstrap's own arguments.
  o.argv = spec.argv;
  if (o.argv.empty()) o.argv.push_back(spec.path);
  else o.argv.front() = spec.path;
  o.companions = spec.companions;
  o.env = spec.env;
  o.cwd = spec.cwd;
  o.identity = spec.identity;
  o.drop_capabilities = spec.drop_capabilities;
  o.no_new_privs = spec.no_new_privs;
  o.seccomp = spec.seccomp;
  o.tmp_mb = m.tmp_mb;
  o.out_fd = st.out.second.get();
  o.status_fd = st.status.second.get();
  o.task_mount = st.task.get();
  o.opt_mount = st.opt ? st.opt.get() : -1;
  o.runtime_mount = st.runtime ? st.runtime.get() : -1;
  if (auto fits = sandbox::order_bytes(o); !fits) return skip(fits.error().message());
  return st;
}

bool Environment::start_in_shell(Shell& shell, ShellStart& st, bool isolated,
                                 std::chrono::steady_clock::time_point began) {
  auto unused = [&](std::string const& why) {
    spdlog::warn("function {}: a pre-made sandbox could not be used ({}); starting a new one", fn_.name, why);
    ShellPool::discard(shell, sb_.cgroups);
    return false;
  };
  if (!shell.cgroup.empty())
    if (auto limited = shell.cgroup.limit_memory(static_cast<std::uint64_t>(fn_.memory_mb) << 20); !limited)
      return unused(limited.error().message());
  spawned_at_ = std::chrono::steady_clock::now();
  if (auto sent = sandbox::send_order(shell.control.get(), st.order); !sent) return unused(sent.error().message());
  // The listener was listening since the shell was made: a runtime that
  // connects before this waits in its backlog.
  if (isolated) {
    if (!endpoint_->adopt(shell.listener.get())) return unused("could not serve the Runtime API");
    (void)shell.listener.release();  // the endpoint's now
  }
  cgroup_ = std::move(shell.cgroup);
  child_ = std::move(shell.child);
  shell_control_ = std::move(shell.control);  // held: lambdad-init sees the daemon gone by it
  status_fd_ = std::move(st.status.first);
  using fms = std::chrono::duration<double, std::milli>;
  spdlog::debug("function {}: environment started in {:.3f} ms: prepare {:.3f} ms (cgroup, spec), spawn {:.3f} ms "
                "(a pre-made sandbox: its mounts and identity)",
                fn_.name, fms(std::chrono::steady_clock::now() - began).count(), fms(spawned_at_ - began).count(),
                fms(std::chrono::steady_clock::now() - spawned_at_).count());
  wire(std::move(st.out.first), isolated);
  return true;
}

}  // namespace lambdad::exec
