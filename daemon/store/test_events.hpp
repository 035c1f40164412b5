// Saved test events, as the console keeps them per function ("Testing
// Lambda functions in the console": private test events): one JSON file
// per event under <state>/test-events/<function>/<name>.json, written
// atomically. Blocking; the control plane calls it on the store strand.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lambdad::store {

class TestEvents {
 public:
  TestEvents(std::filesystem::path root, std::filesystem::path tmp_dir)
      : root_(std::move(root)), tmp_(std::move(tmp_dir)) {}

  // The console's rule for a name: 1 to 25 letters, digits, '.', '-', '_'.
  static bool valid_name(std::string const& name);

  // Every saved event of `function` (name, JSON text), by name.
  Result<std::vector<std::pair<std::string, std::string>>> list(std::string const& function) const;
  // The event's JSON text, or nothing if none is saved by that name.
  Result<std::optional<std::string>> get(std::string const& function, std::string const& name) const;
  Result<void> put(std::string const& function, std::string const& name, std::string const& json);
  // Whether there was one.
  Result<bool> remove(std::string const& function, std::string const& name);
  // All of a function's events (DeleteFunction).
  Result<void> remove_all(std::string const& function);

 private:
  std::filesystem::path file(std::string const& function, std::string const& name) const {
    return root_ / function / (name + ".json");
  }
  std::filesystem::path root_, tmp_;
};

}  // namespace lambdad::store
