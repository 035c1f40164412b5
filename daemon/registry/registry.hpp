// The function registry: every function's state (its $LATEST, published
// versions, aliases, URL configs, policy, tags), which functions are busy
// being written, and what a name and qualifier resolve to. In memory, on the
// io_context thread (no locks); the caller writes a state to disk before
// put() makes it current. Knows nothing of HTTP.
#pragma once

#include "exec/invoker.hpp"
#include "model/arn.hpp"
#include "model/records.hpp"
#include "runtimes/catalog.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

namespace lambdad::registry {

inline constexpr char const* kLatest = "$LATEST";

// What a function name (or ARN) and qualifier name.
struct Target {
  std::string name;
  std::string qualifier;  // as the caller gave it; "" for none
  std::string version;    // what runs: "$LATEST" or a version number
  model::FunctionRecord const* record = nullptr;  // that version's configuration
  model::AliasRecord const* alias = nullptr;      // when the qualifier is an alias
  std::string arn;  // qualified as the caller qualified it
};

// Where a function URL leads.
struct UrlOwner {
  std::string name;
  std::string qualifier;
  model::UrlConfigRecord const* config = nullptr;
};

class FunctionRegistry {
 public:
  // `tree_of` gives the unpacked tree of a code SHA-256 (the store's layout).
  FunctionRegistry(model::Identity id, std::function<std::filesystem::path(std::string const&)> tree_of);

  void load(std::vector<model::FunctionState> states);
  model::FunctionState const* find(std::string const& name) const;
  std::map<std::string, model::FunctionState> const& all() const { return functions_; }
  std::size_t size() const { return functions_.size(); }
  bool contains(std::string const& name) const { return functions_.count(name) != 0; }

  // A FunctionName parameter (name, name:qualifier, partial or full ARN) and
  // the Qualifier parameter: the function, version or alias they name, or
  // Lambda's errors (a qualifier that differs from the ARN's, or
  // ResourceNotFoundException "Function not found: <qualified ARN>").
  model::ApiResult<Target> resolve(std::string const& text, std::optional<std::string> qualifier) const;
  // The same, for an API that changes $LATEST: a version or alias is not found.
  model::ApiResult<std::string> resolve_unqualified(std::string const& text) const;
  // For Invoke: an alias with a routing config runs its additional version
  // with that version's weight (Lambda's weighted alias).
  Target route(Target t);
  // The configuration an invocation of `t` runs, with its trees.
  exec::FunctionImage image(Target const& t) const;

  // Functions being created, updated or deleted: their state is not to be
  // changed by another request meanwhile.
  bool busy(std::string const& name) const { return busy_.count(name) != 0; }
  void mark_busy(std::string const& name) { busy_.insert(name); }
  void unmark_busy(std::string const& name) { busy_.erase(name); }
  bool exists_or_busy(std::string const& name) const { return functions_.count(name) || busy_.count(name); }

  // Makes `state` (already on disk) current; on_changed is told unless only
  // bookkeeping changed (`code_changed` false: aliases, policy, URLs, tags).
  void put(model::FunctionState state, bool code_changed = true);
  void erase(std::string const& name);
  // A function's environments are to end (its $LATEST changed or it is gone).
  std::function<void(std::string const& name)> on_changed;

  // Code trees being stored (not yet in any record): kept from collection.
  void hold(std::string const& sha) { pending_.insert(sha); }
  void release(std::string const& sha);
  // Every tree a function version references, and those held.
  std::set<std::string> referenced_shas() const;

  std::string arn(std::string const& name, std::string const& qualifier = "") const;
  model::Identity const& identity() const { return id_; }
  // The function URL with this url-id, if any.
  std::optional<UrlOwner> url_owner(std::string const& url_id) const;
  // A fresh url-id: 32 of [a-z0-9], unused.
  std::string new_url_id();
  // The managed runtimes this host can run, and the variables every
  // function gets (credentials, the daemon's endpoints): for image().
  void set_runtimes(runtimes::Availability a) { runtimes_ = std::move(a); }
  void set_base_env(std::map<std::string, std::string> env) { base_env_ = std::move(env); }
  runtimes::Availability const& runtimes() const { return runtimes_; }
  // Seeds the weighted-alias draw (tests that want a fixed sequence).
  void seed(std::uint64_t s) { rng_.seed(s); }

 private:
  model::ApiResult<Target> qualify(model::FunctionState const& state, std::string const& qualifier) const;

  model::Identity id_;
  std::function<std::filesystem::path(std::string const&)> tree_of_;
  std::map<std::string, model::FunctionState> functions_;
  std::set<std::string> busy_;
  std::multiset<std::string> pending_;
  std::mt19937_64 rng_{std::random_device{}()};
  runtimes::Availability runtimes_;
  std::map<std::string, std::string> base_env_;
};

// PublishVersion on `state` (no I/O): a snapshot of $LATEST as the next
// version, with `revision` as its RevisionId; or, when neither code nor
// configuration changed since the newest version, that version again
// (Lambda publishes nothing then). The version's number.
int publish_version(model::FunctionState& state, std::optional<std::string> const& description,
                    std::string revision, std::string const& now);

}  // namespace lambdad::registry
