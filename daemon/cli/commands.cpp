#include "commands.hpp"

#include "sample_events.hpp"

#include <cstdio>
#include <cstdlib>

namespace lambdad::cli {

Commands::Commands(CLI::App& app) {
  if (char const* e = std::getenv("LAMBDAD_ENDPOINT")) endpoint_ = e;
  add_invoke(app);
  add_test_event(app);
  add_logs(app);
  add_deploy(app);
  add_generate_event(app);
}

void Commands::endpoint_option(CLI::App* sub) {
  sub->add_option("--endpoint", endpoint_, "lambdad's URL (default $LAMBDAD_ENDPOINT or http://127.0.0.1:9000)");
}

void Commands::add_invoke(CLI::App& app) {
  invoke_ = app.add_subcommand("invoke", "Invoke a function and print what the console's Test tab shows: "
                                         "Response, Function Logs, Request ID (exit 1 if the function failed)");
  invoke_->add_option("name", name_, "Function name or ARN")->required();
  invoke_->add_option("--event", event_path_, "File holding the event (JSON), or - for stdin; default {}");
  invoke_->add_option("--test-event", test_event_, "Name of a saved test event of the function (lambdad test-event)");
  endpoint_option(invoke_);
}

void Commands::add_test_event(CLI::App& app) {
  tev_ = app.add_subcommand("test-event", "A function's saved test events, as the console keeps them: "
                                          "save, show, list, delete");
  tev_->add_option("action", te_.action, "save, show, list or delete")
      ->required()
      ->check(CLI::IsMember({"save", "show", "list", "delete"}));
  tev_->add_option("function", te_.function, "Function name")->required();
  tev_->add_option("name", te_.name, "Test event name (save, show, delete)");
  tev_->add_option("--event", te_.event_path, "save: file holding the event (JSON), or - for stdin; default {}");
  endpoint_option(tev_);
}

void Commands::add_logs(CLI::App& app) {
  logs_ = app.add_subcommand("logs", "Print a function's log group /aws/lambda/NAME, oldest first");
  logs_->add_option("name", name_, "Function name")->required();
  logs_->add_flag("-f,--follow", follow_, "Keep printing new lines as the function writes them");
  endpoint_option(logs_);
}

void Commands::add_deploy(CLI::App& app) {
  auto& d = deploy_;
  deploy_cmd_ = app.add_subcommand("deploy", "Create a function, or update its code, from a directory to "
                                             "hot-reload (changes run at the next invoke) or a zip");
  deploy_cmd_->add_option("name", d.name, "Function name")->required();
  deploy_cmd_->add_option("--hot-reload", d.hot_reload, "Directory served at /var/task as it is, reloaded on change");
  deploy_cmd_->add_option("--zip", d.zip, "Zip file of the code");
  deploy_cmd_->add_option("--runtime", d.runtime, "Runtime (when creating)")->capture_default_str();
  deploy_cmd_->add_option("--handler", d.handler, "Handler (when creating)")->capture_default_str();
  deploy_cmd_->add_option("--role", d.role, "Role ARN (when creating)")->capture_default_str();
  deploy_cmd_->add_option("--timeout", d.timeout, "Timeout in seconds (when creating)")->capture_default_str();
  deploy_cmd_->add_option("--layer", d.layers, "Layer version ARN (when creating; repeatable)");
  endpoint_option(deploy_cmd_);
}

// Every type's options are declared; a type refuses those it does not take.
void Commands::add_generate_event(CLI::App& app) {
  gen_ = app.add_subcommand("generate-event", "Print a sample event of an AWS service (JSON) to invoke a "
                                              "function with; --list (or no arguments) lists them");
  gen_->add_option("service", gen_service_,
                   "Service: s3, sqs, sns, apigateway, lambda, eventbridge, dynamodb, kinesis, cloudwatch");
  gen_->add_option("type", gen_type_, "Event type of the service (see --list)");
  gen_->add_flag("--list", gen_list_, "List the services, their event types and options");
  for (auto const& [name, help] : sample_event_options())
    gen_options_.emplace_back(name, gen_->add_option("--" + name, gen_values_[name], help));
}

int Commands::run_test_event() {
  if (te_.action != "list" && te_.name.empty()) {
    std::fprintf(stderr, "lambdad test-event %s: give the test event's name\n", te_.action.c_str());
    return 2;
  }
  return test_event(endpoint_, te_);
}

int Commands::run_generate_event() {
  if (gen_list_ || gen_service_.empty()) return std::fputs(sample_event_listing().c_str(), stdout) < 0 ? 1 : 0;
  EventOptions given;
  for (auto const& [name, opt] : gen_options_)
    if (opt->count() > 0) given[name] = gen_values_[name];
  auto out = generate_event(gen_service_, gen_type_, given);
  if (!out) {
    std::fprintf(stderr, "lambdad generate-event: %s\n", out.error().message().c_str());
    return 2;
  }
  return std::fputs(out->c_str(), stdout) < 0 ? 1 : 0;
}

std::optional<int> Commands::run() {
  if (gen_->parsed()) return run_generate_event();
  if (invoke_->parsed()) return invoke(endpoint_, name_, event_path_, test_event_);
  if (tev_->parsed()) return run_test_event();
  if (logs_->parsed()) return logs(endpoint_, name_, follow_);
  if (deploy_cmd_->parsed()) return deploy(endpoint_, deploy_);
  return std::nullopt;
}

}  // namespace lambdad::cli
