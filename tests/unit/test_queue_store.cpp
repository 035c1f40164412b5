// The asynchronous queue's records on disk: written, read back by a new
// store (a restart), rewritten, removed; one that cannot be read is moved
// aside and named, never dropped; a name that is not a request id refused.
#include <doctest/doctest.h>

#include "events/queue_store.hpp"
#include "temp_dir.hpp"
#include "util/fsutil.hpp"

#include <fstream>

using namespace lambdad;
using events::QueuedEvent;
using events::QueueStore;

namespace {

QueuedEvent event(std::string id, std::int64_t accepted) {
  QueuedEvent e;
  e.request_id = std::move(id);
  e.function = "f";
  e.qualifier = "live";
  e.payload = R"({"n":1})";
  e.client_context = R"({"custom":{"a":"b"}})";
  e.accepted_ms = accepted;
  e.due_ms = accepted;
  return e;
}

constexpr char kA[] = "8f5a1c2e-0000-4000-8000-00000000000a";
constexpr char kB[] = "8f5a1c2e-0000-4000-8000-00000000000b";

}  // namespace

TEST_CASE("put, load after a restart (oldest first), rewrite, remove") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path / "tmp");
  {
    QueueStore store(dir.path / "events", dir.path / "tmp");
    REQUIRE(store.put(event(kB, 2000)).has_value());
    REQUIRE(store.put(event(kA, 1000)).has_value());
  }
  QueueStore store(dir.path / "events", dir.path / "tmp");
  std::vector<std::string> notes;
  auto loaded = store.load(notes);
  REQUIRE(loaded.has_value());
  CHECK(notes.empty());
  REQUIRE(loaded->size() == 2);
  CHECK((*loaded)[0].request_id == kA);
  CHECK((*loaded)[1].request_id == kB);
  CHECK((*loaded)[0].payload == R"({"n":1})");
  CHECK((*loaded)[0].qualifier == "live");
  CHECK((*loaded)[0].client_context == std::optional<std::string>(R"({"custom":{"a":"b"}})"));
  auto again = (*loaded)[0];
  again.attempts = 2;
  again.due_ms = 5000;
  REQUIRE(store.put(again).has_value());
  REQUIRE(store.remove(kB).has_value());
  loaded = store.load(notes);
  REQUIRE(loaded->size() == 1);
  CHECK((*loaded)[0].attempts == 2);
  CHECK((*loaded)[0].due_ms == 5000);
  CHECK(std::filesystem::is_empty(dir.path / "tmp"));
}

TEST_CASE("an unreadable record is moved aside and named; a bad id is refused") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path / "tmp");
  QueueStore store(dir.path / "events", dir.path / "tmp");
  REQUIRE(store.put(event(kA, 1000)).has_value());
  { std::ofstream(dir.path / "events" / (std::string(kB) + ".json")) << "{\"request_id\": \"trunc"; }
  std::vector<std::string> notes;
  auto loaded = store.load(notes);
  REQUIRE(loaded.has_value());
  CHECK(loaded->size() == 1);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find(kB) != std::string::npos);
  CHECK(std::filesystem::exists(dir.path / "events" / "unreadable" / (std::string(kB) + ".json")));
  CHECK_FALSE(store.put(event("../escape", 1)).has_value());
  CHECK_FALSE(store.remove("../../etc/passwd").has_value());
}
