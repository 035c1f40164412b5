// The client commands of the lambdad binary, talking to a running daemon
// over HTTP (Beast, synchronous): `invoke` prints what the console's Test
// tab shows (Response, Function Logs, Request ID) and `logs` prints or
// follows a function's log group. Each returns the process exit code:
// 0 success, 1 the function failed, 2 a usage, connection or API error.
#pragma once

#include <string>

namespace lambdad::cli {

// `endpoint` is a URL such as http://127.0.0.1:9000; `event_path` a file,
// "-" for stdin, or empty for the event {}.
int invoke(std::string const& endpoint, std::string const& name, std::string const& event_path);
int logs(std::string const& endpoint, std::string const& name, bool follow);

}  // namespace lambdad::cli
