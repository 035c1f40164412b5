// lambdad's command line (CLI11): `serve` runs the daemon; `invoke` and
// `logs` talk to a running one; `doctor` says what the sandbox can use. A
// bad flag or configuration file is reported and exits 2.
#include "cli/client.hpp"
#include "cli/sample_events.hpp"
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

  std::string endpoint = "http://127.0.0.1:9000";
  if (char const* e = std::getenv("LAMBDAD_ENDPOINT")) endpoint = e;
  std::string fn_name, event_path;
  auto* invoke = app.add_subcommand("invoke", "Invoke a function and print what the console's Test tab shows: "
                                              "Response, Function Logs, Request ID (exit 1 if the function failed)");
  invoke->add_option("name", fn_name, "Function name or ARN")->required();
  invoke->add_option("--event", event_path, "File holding the event (JSON), or - for stdin; default {}");
  std::string test_event_name;
  invoke->add_option("--test-event", test_event_name, "Name of a saved test event of the function (lambdad test-event)");
  invoke->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");
  lambdad::cli::TestEventCommand te;
  auto* tev = app.add_subcommand("test-event", "A function's saved test events, as the console keeps them: "
                                               "save, show, list, delete");
  tev->add_option("action", te.action, "save, show, list or delete")
      ->required()
      ->check(CLI::IsMember({"save", "show", "list", "delete"}));
  tev->add_option("function", te.function, "Function name")->required();
  tev->add_option("name", te.name, "Test event name (save, show, delete)");
  tev->add_option("--event", te.event_path, "save: file holding the event (JSON), or - for stdin; default {}");
  tev->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "Print a function's log group /aws/lambda/NAME, oldest first");
  logs->add_option("name", fn_name, "Function name")->required();
  logs->add_flag("-f,--follow", follow, "Keep printing new lines as the function writes them");
  logs->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");
  lambdad::cli::Deploy dep;
  auto* deploy = app.add_subcommand("deploy", "Create a function, or update its code, from a directory to "
                                              "hot-reload (changes run at the next invoke) or a zip");
  deploy->add_option("name", dep.name, "Function name")->required();
  deploy->add_option("--hot-reload", dep.hot_reload, "Directory served at /var/task as it is, reloaded on change");
  deploy->add_option("--zip", dep.zip, "Zip file of the code");
  deploy->add_option("--runtime", dep.runtime, "Runtime (when creating)")->capture_default_str();
  deploy->add_option("--handler", dep.handler, "Handler (when creating)")->capture_default_str();
  deploy->add_option("--role", dep.role, "Role ARN (when creating)")->capture_default_str();
  deploy->add_option("--timeout", dep.timeout, "Timeout in seconds (when creating)")->capture_default_str();
  deploy->add_option("--layer", dep.layers, "Layer version ARN (when creating; repeatable)");
  deploy->add_option("--endpoint", endpoint, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");

  // generate-event: sample events (cli/sample_events.hpp). Every type's
  // options are declared here; a type refuses those it does not take.
  std::string gen_service, gen_type;
  bool gen_list = false;
  std::map<std::string, std::string> gen_values;
  std::vector<std::pair<std::string, CLI::Option*>> gen_options;
  auto* gen = app.add_subcommand("generate-event", "Print a sample event of an AWS service (JSON) to invoke a "
                                                   "function with; --list (or no arguments) lists them");
  gen->add_option("service", gen_service, "Service: s3, sqs, sns, apigateway, lambda, eventbridge, dynamodb, kinesis, cloudwatch");
  gen->add_option("type", gen_type, "Event type of the service (see --list)");
  gen->add_flag("--list", gen_list, "List the services, their event types and options");
  for (auto const& [name, help] : lambdad::cli::sample_event_options())
    gen_options.emplace_back(name, gen->add_option("--" + name, gen_values[name], help));
  auto run_generate = [&] {
    if (gen_list || gen_service.empty()) return std::fputs(lambdad::cli::sample_event_listing().c_str(), stdout) < 0 ? 1 : 0;
    lambdad::cli::EventOptions given;
    for (auto const& [name, opt] : gen_options)
      if (opt->count() > 0) given[name] = gen_values[name];
    auto out = lambdad::cli::generate_event(gen_service, gen_type, given);
    if (!out) {
      std::fprintf(stderr, "lambdad generate-event: %s\n", out.error().message().c_str());
      return 2;
    }
    return std::fputs(out->c_str(), stdout) < 0 ? 1 : 0;
  };

  CLI11_PARSE(app, argc, argv);
  if (gen->parsed()) return run_generate();
  if (invoke->parsed()) return lambdad::cli::invoke(endpoint, fn_name, event_path, test_event_name);
  if (tev->parsed()) {
    if (te.action != "list" && te.name.empty()) {
      std::fprintf(stderr, "lambdad test-event %s: give the test event's name\n", te.action.c_str());
      return 2;
    }
    return lambdad::cli::test_event(endpoint, te);
  }
  if (logs->parsed()) return lambdad::cli::logs(endpoint, fn_name, follow);
  if (deploy->parsed()) return lambdad::cli::deploy(endpoint, dep);
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
