// The client commands of the lambdad binary, talking to a running daemon
// over HTTP (Beast, synchronous): `invoke` prints what the console's Test
// tab shows (Response, Function Logs, Request ID), `logs` prints or
// follows a function's log group, `deploy` creates or updates a function.
// Each returns the process exit code: 0 success, 1 the function failed, 2 a
// usage, connection or API error.
#pragma once

#include <string>
#include <vector>

namespace lambdad::cli {

// `endpoint` is a URL such as http://127.0.0.1:9000; `event_path` a file,
// "-" for stdin, or empty for the event {}.
// `test_event`: the name of a saved test event of the function to send instead.
int invoke(std::string const& endpoint, std::string const& name, std::string const& event_path,
           std::string const& test_event = "");
int logs(std::string const& endpoint, std::string const& name, bool follow);

// `deploy`: creates the function, or updates its code if it exists, from a
// host directory to hot-reload (Code.S3Bucket "hot-reload") or a zip.
struct Deploy {
  std::string name;
  std::string hot_reload;  // a directory (made absolute here), or
  std::string zip;         // a zip file
  std::string runtime = "provided.al2023";
  std::string handler = "bootstrap";
  std::string role = "arn:aws:iam::000000000000:role/lambdad";
  int timeout = 3;
  std::vector<std::string> layers;
};
int deploy(std::string const& endpoint, Deploy const& d);

// `test-event save|show|list|delete`: the function's saved test events.
struct TestEventCommand {
  std::string action;  // save, show, list, delete
  std::string function;
  std::string name;
  std::string event_path;  // save: a file, "-" for stdin, "" for {}
};
int test_event(std::string const& endpoint, TestEventCommand const& c);

}  // namespace lambdad::cli
