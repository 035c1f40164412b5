#include "environment_state.hpp"

namespace lambdad::runtime_api {

std::optional<EnvState> transition(EnvState state, EnvEvent event) {
  using S = EnvState;
  using E = EnvEvent;
  switch (state) {
    case S::Creating:
      if (event == E::Spawned) return S::Initializing;
      if (event == E::SpawnFailed || event == E::Retire) return S::Dead;
      return std::nullopt;
    case S::Initializing:
      if (event == E::FirstNext) return S::Idle;
      if (event == E::InitError || event == E::Timeout || event == E::Exited || event == E::Retire) return S::Dead;
      return std::nullopt;
    case S::Idle:
      if (event == E::Dispatch) return S::Invoking;
      // A runtime that exits between invocations, or one the daemon retires.
      if (event == E::Exited || event == E::Retire) return S::Dead;
      return std::nullopt;
    case S::Invoking:
      if (event == E::Respond) return S::Idle;
      // Retiring an environment never cuts an invocation short: in-flight
      // invokes finish on the old code. Timeout and exit end it.
      if (event == E::Timeout || event == E::Exited) return S::Dead;
      return std::nullopt;
    case S::Dead:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string_view to_string(EnvState s) {
  switch (s) {
    case EnvState::Creating: return "Creating";
    case EnvState::Initializing: return "Initializing";
    case EnvState::Idle: return "Idle";
    case EnvState::Invoking: return "Invoking";
    case EnvState::Dead: return "Dead";
  }
  return "?";
}

std::string_view to_string(EnvEvent e) {
  switch (e) {
    case EnvEvent::Spawned: return "Spawned";
    case EnvEvent::SpawnFailed: return "SpawnFailed";
    case EnvEvent::FirstNext: return "FirstNext";
    case EnvEvent::InitError: return "InitError";
    case EnvEvent::Dispatch: return "Dispatch";
    case EnvEvent::Respond: return "Respond";
    case EnvEvent::Timeout: return "Timeout";
    case EnvEvent::Exited: return "Exited";
    case EnvEvent::Retire: return "Retire";
  }
  return "?";
}

}  // namespace lambdad::runtime_api
