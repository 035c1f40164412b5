// Every (state, event) pair of the environment lifecycle: the allowed ones
// land where the table says, every other one is refused.
#include <doctest/doctest.h>

#include "environment_state.hpp"

#include <map>
#include <string>
#include <utility>

using namespace lambdad::runtime_api;

TEST_CASE("the lifecycle table, every pair") {
  using S = EnvState;
  using E = EnvEvent;
  std::map<std::pair<S, E>, S> const allowed = {
      {{S::Creating, E::Spawned}, S::Initializing},   {{S::Creating, E::SpawnFailed}, S::Dead},
      {{S::Creating, E::Retire}, S::Dead},            {{S::Initializing, E::FirstNext}, S::Idle},
      {{S::Initializing, E::InitError}, S::Dead},     {{S::Initializing, E::Timeout}, S::Dead},
      {{S::Initializing, E::Exited}, S::Dead},        {{S::Initializing, E::Retire}, S::Dead},
      {{S::Idle, E::Dispatch}, S::Invoking},          {{S::Idle, E::Exited}, S::Dead},
      {{S::Idle, E::Retire}, S::Dead},                {{S::Invoking, E::Respond}, S::Idle},
      {{S::Invoking, E::Timeout}, S::Dead},           {{S::Invoking, E::Exited}, S::Dead},
  };
  int checked = 0;
  for (S s : {S::Creating, S::Initializing, S::Idle, S::Invoking, S::Dead}) {
    for (E e : {E::Spawned, E::SpawnFailed, E::FirstNext, E::InitError, E::Dispatch, E::Respond, E::Timeout,
                E::Exited, E::Retire}) {
      std::string pair = std::string(to_string(s)) + " + " + std::string(to_string(e));
      CAPTURE(pair);
      auto got = transition(s, e);
      auto want = allowed.find({s, e});
      if (want == allowed.end()) {
        CHECK_FALSE(got.has_value());
      } else {
        REQUIRE(got.has_value());
        CHECK(*got == want->second);
      }
      ++checked;
    }
  }
  CHECK(checked == 45);
}

TEST_CASE("a full life: cold start, two invocations, retire") {
  auto s = EnvState::Creating;
  for (auto e : {EnvEvent::Spawned, EnvEvent::FirstNext, EnvEvent::Dispatch, EnvEvent::Respond, EnvEvent::Dispatch,
                 EnvEvent::Respond, EnvEvent::Retire}) {
    auto next = transition(s, e);
    REQUIRE(next.has_value());
    s = *next;
  }
  CHECK(s == EnvState::Dead);
}
