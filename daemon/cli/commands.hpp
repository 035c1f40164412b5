// The client subcommands of the lambdad binary (invoke, logs, deploy,
// test-event, generate-event): their flags (CLI11) and, once parsed, which
// one runs. main() adds them beside `serve` and `doctor`.
#pragma once

#include "client.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lambdad::cli {

class Commands {
 public:
  explicit Commands(CLI::App& app);
  // After parsing: the exit code of the client subcommand given, or nothing
  // if none was (serve or doctor).
  std::optional<int> run();

 private:
  void add_invoke(CLI::App& app);
  void add_logs(CLI::App& app);
  void add_deploy(CLI::App& app);
  void add_test_event(CLI::App& app);
  void add_generate_event(CLI::App& app);
  int run_test_event();
  int run_generate_event();
  void endpoint_option(CLI::App* sub);

  std::string endpoint_ = "http://127.0.0.1:9000";
  std::string name_, event_path_, test_event_;
  bool follow_ = false;
  Deploy deploy_;
  TestEventCommand te_;
  std::string gen_service_, gen_type_;
  bool gen_list_ = false;
  std::map<std::string, std::string> gen_values_;
  std::vector<std::pair<std::string, CLI::Option*>> gen_options_;
  CLI::App *invoke_ = nullptr, *logs_ = nullptr, *deploy_cmd_ = nullptr, *tev_ = nullptr, *gen_ = nullptr;
};

}  // namespace lambdad::cli
