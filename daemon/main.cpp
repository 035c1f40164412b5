// lambdad's command line (CLI11): `serve` runs the daemon; the client
// commands (cli/commands.hpp: invoke, logs, deploy, test-event,
// generate-event) talk to a running one or print; `doctor` says what the
// sandbox can use. A bad flag or configuration file is reported and exits 2.
#include "cli/commands.hpp"
#include "serve.hpp"
#include "settings.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  CLI::App app{"lambdad: a native local AWS Lambda"};
  app.require_subcommand(1);
  app.footer("See lambdad(8). Configuration: " + lambdad::default_config_path());
  lambdad::Settings settings;
  auto* serve = app.add_subcommand("serve", "Run the daemon: Lambda and STS APIs on one HTTP port");
  lambdad::add_serve_options(serve, settings);
  auto* doctor = app.add_subcommand("doctor", "Print what this machine offers the sandbox, and what follows");

  lambdad::cli::Commands clients(app);

  CLI11_PARSE(app, argc, argv);
  if (auto rc = clients.run()) return *rc;
  if (doctor->parsed()) return lambdad::doctor();

  if (auto loaded = lambdad::load_config(serve, settings); !loaded) {
    std::fprintf(stderr, "lambdad: configuration: %s\n", loaded.error().message().c_str());
    return 2;
  }
  auto& opts = settings.opts;
  lambdad::init_logging(opts.log_level);
  // The arguments after `serve`, kept for SIGHUP's re-read.
  std::vector<std::string> serve_args;
  int at = 1;
  while (at < argc && std::string_view(argv[at]) != "serve") ++at;
  for (int i = at + 1; i < argc; ++i) serve_args.emplace_back(argv[i]);
  opts.reread = [serve_args] { return lambdad::reread_settings(serve_args); };
  return lambdad::serve(opts);
}
