#include "registry.hpp"

#include <algorithm>

namespace lambdad::registry {

namespace {

bool all_digits(std::string const& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

FunctionRegistry::FunctionRegistry(model::Identity id,
                                   std::function<std::filesystem::path(std::string const&)> tree_of)
    : id_(std::move(id)), tree_of_(std::move(tree_of)) {}

void FunctionRegistry::load(std::vector<model::FunctionState> states) {
  for (auto& s : states) {
    std::string name = s.latest.name;
    functions_[name] = std::move(s);
  }
}

model::FunctionState const* FunctionRegistry::find(std::string const& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

std::string FunctionRegistry::arn(std::string const& name, std::string const& qualifier) const {
  auto base = model::function_arn(id_, name);
  return qualifier.empty() ? base : base + ":" + qualifier;
}

model::ApiResult<Target> FunctionRegistry::qualify(model::FunctionState const& state,
                                                   std::string const& qualifier) const {
  auto const& name = state.latest.name;
  Target t{name, qualifier, kLatest, &state.latest, nullptr, arn(name, qualifier)};
  if (qualifier.empty() || qualifier == kLatest) return t;
  if (all_digits(qualifier)) {
    auto v = qualifier.size() <= 9 ? state.versions.find(std::stoi(qualifier)) : state.versions.end();
    if (v == state.versions.end()) return model::not_found("Function not found: " + t.arn);
    t.version = qualifier;
    t.record = &v->second;
    return t;
  }
  auto a = state.aliases.find(qualifier);
  if (a == state.aliases.end()) return model::not_found("Function not found: " + t.arn);
  t.alias = &a->second;
  t.version = a->second.function_version;
  if (t.version != kLatest) {
    auto v = state.versions.find(std::stoi(t.version));
    if (v == state.versions.end()) return model::not_found("Function not found: " + arn(name, t.version));
    t.record = &v->second;
  }
  return t;
}

model::ApiResult<Target> FunctionRegistry::resolve(std::string const& text,
                                                   std::optional<std::string> qualifier) const {
  auto ref = model::parse_function_ref(text);
  if (!ref) return ref.error();
  if (ref->qualifier && qualifier && *ref->qualifier != *qualifier)
    return model::invalid_parameter("The derived qualifier from the function name does not match the specified "
                                    "qualifier.");
  std::string q = qualifier.value_or(ref->qualifier.value_or(""));
  bool foreign = (ref->region && *ref->region != id_.region) || (ref->account && *ref->account != id_.account);
  auto it = functions_.find(ref->name);
  if (foreign || it == functions_.end()) return model::not_found("Function not found: " + arn(ref->name, q));
  return qualify(it->second, q);
}

model::ApiResult<std::string> FunctionRegistry::resolve_unqualified(std::string const& text) const {
  auto t = resolve(text, std::nullopt);
  if (!t) return t.error();
  // Only $LATEST can change: a version or alias named here is not found (as before versions existed).
  if (!t->qualifier.empty() && t->qualifier != kLatest) return model::not_found("Function not found: " + t->arn);
  return t->name;
}

Target FunctionRegistry::route(Target t) {
  if (!t.alias || t.alias->additional_weights.empty()) return t;
  auto const& [extra, weight] = *t.alias->additional_weights.begin();
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  if (draw(rng_) >= weight) return t;
  auto const& state = functions_.at(t.name);
  auto v = state.versions.find(std::stoi(extra));
  if (v == state.versions.end()) return t;  // validated on write; kept safe anyway
  t.version = extra;
  t.record = &v->second;
  return t;
}

exec::FunctionImage FunctionRegistry::image(Target const& t) const {
  auto const& rec = *t.record;
  exec::FunctionImage fn;
  fn.name = rec.name;
  fn.version = t.version;
  fn.arn = t.arn;
  fn.revision = rec.revision_id;
  fn.region = id_.region;
  fn.account = id_.account;
  fn.runtime = rec.runtime;
  fn.handler = rec.handler;
  fn.memory_mb = rec.memory_size;
  fn.timeout_s = rec.timeout;
  fn.ephemeral_mb = rec.ephemeral_storage;
  fn.reserved_concurrency = functions_.at(rec.name).latest.reserved_concurrency;  // the function's, not a version's
  if (rec.environment) fn.env = *rec.environment;
  // Hot reload: the host directories themselves.
  fn.code_tree = rec.code_host_path.empty() ? tree_of_(rec.code_sha256_hex) : std::filesystem::path(rec.code_host_path);
  for (auto const& l : rec.layers) fn.layer_trees.push_back(l.host_path.empty() ? tree_of_(l.sha_hex) : std::filesystem::path(l.host_path));
  fn.base_env = base_env_;
  fn.log.json = rec.logging.json();
  fn.log.application_level = rec.logging.application_log_level;
  fn.log.system = rec.logging.system_log_level == "DEBUG" ? logs::SystemLevel::Debug
                  : rec.logging.system_log_level == "WARN" ? logs::SystemLevel::Warn
                                                           : logs::SystemLevel::Info;
  // "" for the function's own group, even when named explicitly
  fn.log.group = rec.logging.log_group == "/aws/lambda/" + rec.name ? "" : rec.logging.log_group;
  auto const* spec = runtimes::find(rec.runtime);
  auto ready = runtimes_.ready.find(rec.runtime);
  if (spec && ready != runtimes_.ready.end()) {
    auto const& r = ready->second;
    std::string note;
    if (r.version_mismatch)
      note = "lambdad: " + rec.runtime + " runs on " + r.interpreter.string() + " (" + r.interpreter_version +
             "), the closest interpreter on this host";
    fn.managed = exec::ManagedRuntime{r.interpreter, r.client_dir, spec->entry, spec->env, note,
                                      runtimes::interpreter_flags(*spec, r.interpreter_version)};
  }
  return fn;
}

void FunctionRegistry::put(model::FunctionState state, bool code_changed) {
  std::string name = state.latest.name;
  functions_[name] = std::move(state);
  if (code_changed && on_changed) on_changed(name);
}

void FunctionRegistry::erase(std::string const& name) {
  functions_.erase(name);
  if (on_changed) on_changed(name);
}

void FunctionRegistry::release(std::string const& sha) {
  auto it = pending_.find(sha);
  if (it != pending_.end()) pending_.erase(it);
}

std::set<std::string> FunctionRegistry::referenced_shas() const {
  std::set<std::string> keep(pending_.begin(), pending_.end());
  auto add = [&keep](model::FunctionRecord const& r) {
    keep.insert(r.code_sha256_hex);
    for (auto const& l : r.layers) keep.insert(l.sha_hex);
  };
  for (auto const& [name, s] : functions_) {
    add(s.latest);
    for (auto const& [n, v] : s.versions) add(v);
  }
  return keep;
}

std::optional<UrlOwner> FunctionRegistry::url_owner(std::string const& url_id) const {
  for (auto const& [name, s] : functions_)
    for (auto const& [q, u] : s.urls)
      if (u.url_id == url_id) return UrlOwner{name, q, &u};
  return std::nullopt;
}

std::string FunctionRegistry::new_url_id() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<int> pick(0, 35);
  std::random_device rd;  // not the alias draw's engine: seeding that must not fix ids
  for (;;) {
    std::string id;
    for (int i = 0; i < 32; ++i) id += kAlphabet[pick(rd)];
    if (!url_owner(id)) return id;
  }
}

namespace {

// What makes two versions the same: code and configuration, not the
// bookkeeping (revision, time, description) or the function-wide settings.
nlohmann::json essence(model::FunctionRecord const& r) {
  nlohmann::json j = r;
  for (auto const* key : {"revision_id", "last_modified", "description", "tags", "reserved_concurrency"}) j.erase(key);
  return j;
}

}  // namespace

int publish_version(model::FunctionState& state, std::optional<std::string> const& description,
                    std::string revision, std::string const& now) {
  if (!state.versions.empty()) {
    auto const& [n, newest] = *state.versions.rbegin();
    if (essence(newest) == essence(state.latest)) return n;
  }
  model::FunctionRecord v = state.latest;
  v.revision_id = std::move(revision);
  v.last_modified = now;
  if (description) v.description = *description;
  v.tags.clear();
  v.reserved_concurrency.reset();
  int n = ++state.last_version;
  state.versions[n] = std::move(v);
  return n;
}

}  // namespace lambdad::registry
