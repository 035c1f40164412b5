// Log groups on disk: streams written as lines come, read back merged in
// time order, the in-memory tail followers read by sequence number (kept
// only while followed, so memory stays flat), and the wake-ups that drive
// a follow.
#include <doctest/doctest.h>

#include "logs/store.hpp"
#include "temp_dir.hpp"
#include "util/fsutil.hpp"

#include <chrono>

using namespace lambdad::logs;
using lambdad::test::TempDir;
using std::chrono::milliseconds;
using clock_type = std::chrono::system_clock;

namespace {
clock_type::time_point at_ms(std::int64_t ms) { return clock_type::time_point(milliseconds(ms)); }
}  // namespace

TEST_CASE("lines go to the stream's file at once and read back merged in time order") {
  TempDir dir("lambdad-logstore");
  LogStore store(dir.path);
  store.append("f", "2026/11/28/[$LATEST]aaa", "START one", at_ms(1000));
  store.append("f", "2026/11/28/[$LATEST]bbb", "START two", at_ms(1500));
  store.append("f", "2026/11/28/[$LATEST]aaa", "END one", at_ms(2000));
  // On disk before anything is closed: no buffering.
  auto text = lambdad::util::read_file(dir.path / "f" / "2026/11/28/[$LATEST]aaa");
  REQUIRE(text.has_value());
  CHECK(*text == "1000\tSTART one\n2000\tEND one\n");
  auto events = store.read_group("f");
  REQUIRE(events.size() == 3);
  CHECK(events[0].message == "START one");
  CHECK(events[1].message == "START two");
  CHECK(events[1].stream == "2026/11/28/[$LATEST]bbb");
  CHECK(events[2].message == "END one");
  CHECK(store.group_exists("f"));
  CHECK_FALSE(store.group_exists("g"));
  CHECK(store.read_group("g").empty());
  // A message may hold tabs (REPORT does): only the first one separates.
  store.append("f", "2026/11/28/[$LATEST]aaa", "REPORT RequestId: x\tDuration: 1.00 ms\t", at_ms(2500));
  CHECK(store.read_group("f").back().message == "REPORT RequestId: x\tDuration: 1.00 ms\t");
}

TEST_CASE("with a flush scheduler, the lines of one turn go out in one write a stream") {
  TempDir dir("lambdad-logstore");
  LogStore store(dir.path);
  int scheduled = 0;
  store.set_flush_scheduler([&] { ++scheduled; });
  auto file = [&](char const* stream) {
    auto text = lambdad::util::read_file(dir.path / "f" / stream);
    return text ? *text : std::string("?");
  };
  store.append("f", "a", "START", at_ms(1));
  store.append("f", "b", "other", at_ms(2));
  store.append("f", "a", "END", at_ms(3));
  CHECK(scheduled == 1);  // once a batch, however many lines and streams
  CHECK(file("a").empty());
  store.flush();
  CHECK(file("a") == "1\tSTART\n3\tEND\n");
  CHECK(file("b") == "2\tother\n");
  store.flush();  // nothing pending: nothing written twice
  CHECK(file("a") == "1\tSTART\n3\tEND\n");
  // The next batch schedules again; a stream that closes writes its own first.
  store.append("f", "a", "REPORT", at_ms(4));
  store.append("f", "b", "more", at_ms(5));
  CHECK(scheduled == 2);
  store.close_stream("f", "a");
  CHECK(file("a") == "1\tSTART\n3\tEND\n4\tREPORT\n");
  CHECK(file("b") == "2\tother\n");
  store.flush();
  CHECK(file("b") == "2\tother\n5\tmore\n");
  // A flood (one read of the pipe holding many lines) is written in 64 KB
  // pieces, not held until the handler ends.
  std::string line(1000, 'x');
  for (int i = 0; i < 70; ++i) store.append("f", "b", line, at_ms(6));
  CHECK(file("b").size() > 64 * 1024);
  store.flush();
  CHECK(file("b").size() == std::string("2\tother\n5\tmore\n").size() + 70 * (line.size() + 3));
  // What is still pending when the store goes is written then.
  {
    LogStore last(dir.path);
    last.set_flush_scheduler([] {});
    last.append("f", "c", "at exit", at_ms(7));
  }
  CHECK(file("c") == "7\tat exit\n");
}

TEST_CASE("a new store on the same directory reads what an earlier one wrote") {
  TempDir dir("lambdad-logstore");
  {
    LogStore first(dir.path);
    first.append("f", "s1", "kept", at_ms(5));
  }
  LogStore second(dir.path);
  auto events = second.read_group("f");
  REQUIRE(events.size() == 1);
  CHECK(events[0].message == "kept");
  CHECK(events[0].time_ms == 5);
  CHECK(second.last_seq("f") == 0);  // sequence numbers are for this run's followers only
}

TEST_CASE("followers read by sequence number and learn when they fell behind") {
  TempDir dir("lambdad-logstore");
  LogStore store(dir.path, 3);
  store.subscribe("f", [] {});
  bool lost = true;
  CHECK(store.since("f", 0, lost).empty());
  CHECK_FALSE(lost);
  store.append("f", "s", "a");
  store.append("f", "s", "b");
  CHECK(store.last_seq("f") == 2);
  auto got = store.since("f", 1, lost);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message == "b");
  CHECK_FALSE(lost);
  store.append("f", "s", "c");
  store.append("f", "s", "d");
  store.append("f", "s", "e");  // keeps c, d, e
  got = store.since("f", 1, lost);
  CHECK(lost);  // b was dropped before this follower read it
  REQUIRE(got.size() == 3);
  CHECK(got[0].message == "c");
  got = store.since("f", 2, lost);
  CHECK_FALSE(lost);  // c is the next one and is still there
  CHECK(got.size() == 3);
}

TEST_CASE("subscribers are woken by appends to their group only, and can leave") {
  TempDir dir("lambdad-logstore");
  LogStore store(dir.path);
  int f_wakes = 0, g_wakes = 0;
  int f = store.subscribe("f", [&] { ++f_wakes; });
  store.subscribe("g", [&] { ++g_wakes; });
  store.append("f", "s", "one");
  CHECK(f_wakes == 1);
  CHECK(g_wakes == 0);
  store.unsubscribe(f);
  store.append("f", "s", "two");
  CHECK(f_wakes == 1);
  store.wake_all();
  CHECK(g_wakes == 1);
  // A wake that unsubscribes itself is safe.
  int self = 0;
  self = store.subscribe("f", [&] { store.unsubscribe(self); });
  store.append("f", "s", "three");
  store.append("f", "s", "four");
}

TEST_CASE("format_event prints as `aws logs tail` does") {
  LogEvent e{1, 1795881900764, "2026/11/28/[$LATEST]abc", "START RequestId: x Version: $LATEST"};
  CHECK(format_event(e) == "2026-11-28T16:05:00.764000+00:00 2026/11/28/[$LATEST]abc START RequestId: x Version: $LATEST");
}

TEST_CASE("an unwritable directory loses the disk copy, not the daemon") {
  TempDir dir("lambdad-logstore");
  // A file where the group's directory should be.
  REQUIRE(lambdad::util::write_file_atomic(dir.path / "f", "x", dir.path, false).has_value());
  LogStore store(dir.path);
  store.subscribe("f", [] {});
  store.append("f", "s", "still followed");
  bool lost = false;
  auto got = store.since("f", 0, lost);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message == "still followed");
}

TEST_CASE("lines are kept in memory only while the group is followed, and idle groups are forgotten") {
  TempDir dir("lambdad-logstore");
  LogStore store(dir.path, 100);
  // Nobody follows: every line goes to disk only, however many.
  for (int i = 0; i < 1000; ++i) store.append("f", "s", "line " + std::to_string(i));
  CHECK(store.kept_events() == 0);
  CHECK(store.read_group("f").size() == 1000);
  CHECK(store.group_count() == 1);  // its stream is open
  store.close_stream("f", "s");
  CHECK(store.group_count() == 0);
  // A follower: the window (100) fills, and empties once it leaves.
  int sub = store.subscribe("f", [] {});
  std::uint64_t seen = store.last_seq("f");
  for (int i = 0; i < 250; ++i) store.append("f", "s2", "followed " + std::to_string(i));
  CHECK(store.kept_events() == 100);
  bool lost = false;
  auto got = store.since("f", seen, lost);
  CHECK(lost);
  REQUIRE(got.size() == 100);
  CHECK(got.back().message == "followed 249");
  // Two followers: the lines stay until the last one leaves.
  int second = store.subscribe("f", [] {});
  store.unsubscribe(sub);
  CHECK(store.kept_events() == 100);
  store.unsubscribe(second);
  CHECK(store.kept_events() == 0);
  CHECK(store.group_count() == 1);  // s2 is still open
  store.close_stream("f", "s2");
  CHECK(store.group_count() == 0);
  CHECK(store.read_group("f").size() == 1250);
  store.unsubscribe(second);  // twice: nothing
}
