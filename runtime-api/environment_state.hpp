// The lifecycle of one execution environment as a state machine:
// Creating -> Initializing -> Idle <-> Invoking, and Dead from anywhere.
// Every transition not in the table is refused (as the AWS Runtime
// Interface Emulator does): callers validate a request before they move the
// state, because transitions cannot be undone. Pure; any thread.
#pragma once

#include <optional>
#include <string_view>

namespace lambdad::runtime_api {

enum class EnvState { Creating, Initializing, Idle, Invoking, Dead };

enum class EnvEvent {
  Spawned,      // the bootstrap process exists
  SpawnFailed,  // it could not be started (no bootstrap, not executable...)
  FirstNext,    // the runtime's first GET /next: init is over
  InitError,    // POST /runtime/init/error
  Dispatch,     // an invocation is handed to the runtime
  Respond,      // POST /invocation/{id}/response or /error
  Timeout,      // the invocation (or init) ran past its deadline
  Exited,       // the process tree ended (exit, signal, OOM kill)
  Retire,       // the daemon ends it: keep-alive expired, code updated, shutdown
};

// The state after `event` in `state`, or std::nullopt if the event is not
// allowed there.
std::optional<EnvState> transition(EnvState state, EnvEvent event);

std::string_view to_string(EnvState s);
std::string_view to_string(EnvEvent e);

}  // namespace lambdad::runtime_api
