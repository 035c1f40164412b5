// Hot reload from a host directory (LocalStack's convention, which its
// users and the AWS Toolkit know): Code {S3Bucket: "hot-reload", S3Key:
// "/abs/dir"} on CreateFunction and UpdateFunctionCode, Content {...} on
// PublishLayerVersion. Nothing is copied: the directory is bound read-only
// at /var/task (or is a layer of /opt), and a change under it ends the
// function's environments, so the next invoke starts the new code.
#include "control_plane.hpp"
#include "upload.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace lambdad::api {

model::ApiResult<std::string> ControlPlane::hot_reload_dir(json const& holder) const {
  if (!holder.is_object()) return std::string();
  auto bucket = holder.find("S3Bucket");
  if (bucket == holder.end() || !bucket->is_string() || !reload::is_hot_reload_bucket(bucket->get<std::string>()))
    return std::string();
  auto key = holder.find("S3Key");
  std::string k = key != holder.end() && key->is_string() ? key->get<std::string>() : "";
  return reload::host_directory(k, cfg_.hot_reload, [](std::string const& n) { return std::getenv(n.c_str()); });
}

std::optional<ApiError> ControlPlane::take_code(Upload const& up, json const& holder, model::FunctionRecord& rec,
                                                std::string const& missing) const {
  if (up.has_zip) {
    rec.code_sha256_hex = up.sha_hex;
    rec.code_size = up.zip.size();
    rec.code_host_path.clear();
    return std::nullopt;
  }
  auto dir = hot_reload_dir(holder);
  if (!dir) return dir.error();
  if (dir->empty()) return model::invalid_parameter(missing);
  rec.code_host_path = *dir;
  rec.code_sha256_hex.clear();
  rec.code_size = 0;
  rec.unzipped_size = 0;
  return std::nullopt;
}

model::ApiResult<exec::FunctionImage> ControlPlane::runnable(registry::Target const& t) {
  auto routed = functions_.route(t);
  auto const& r = *routed.record;
  std::vector<std::string> dirs;
  if (!r.code_host_path.empty()) dirs.push_back(r.code_host_path);
  for (auto const& l : r.layers)
    if (!l.host_path.empty()) dirs.push_back(l.host_path);
  for (auto const& dir : dirs) {
    auto ok = reload::host_directory(dir, cfg_.hot_reload, [](std::string const&) -> char const* { return nullptr; });
    if (!ok) return ok.error();
  }
  return functions_.image(routed);
}

void ControlPlane::set_watcher(reload::Watcher* watcher) {
  watcher_ = watcher;
  if (!watcher_) return;
  watcher_->on_change = [this](std::string const& function, std::string const& dir,
                               std::vector<std::string> const& changed, std::size_t changes) {
    std::string list;
    for (auto const& p : changed) list += (list.empty() ? "" : ", ") + p;
    if (changes > changed.size()) list += ", ...";
    spdlog::info("function {}: hot reload: {} change(s) under {} ({}): its environments end, the next invoke "
                 "starts the new code",
                 function, changes, dir, list);
    if (invoker_) invoker_->retire_function(function);
  };
  for (auto const& [name, state] : functions_.all()) watch_code(name);
}

void ControlPlane::watch_code(std::string const& name) {
  if (!watcher_) return;
  std::set<std::string> dirs;
  if (auto const* state = functions_.find(name)) {
    auto add = [&dirs](model::FunctionRecord const& r) {
      if (!r.code_host_path.empty()) dirs.insert(r.code_host_path);
      for (auto const& l : r.layers)
        if (!l.host_path.empty()) dirs.insert(l.host_path);
    };
    add(state->latest);
    for (auto const& [n, v] : state->versions) add(v);
  }
  watcher_->watch(name, dirs);
}

}  // namespace lambdad::api
