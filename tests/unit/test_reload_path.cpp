// Hot reload's pure half: $VAR expansion as Python's os.path.expandvars,
// the host directory an S3Key names, and --hot-reload-dirs.
#include <doctest/doctest.h>

#include "reload/path.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using namespace lambdad;

namespace {

char const* from(std::map<std::string, std::string> const& vars, std::string const& n) {
  auto it = vars.find(n);
  return it == vars.end() ? nullptr : it->second.c_str();
}

}  // namespace

TEST_CASE("expand_vars: $NAME and ${NAME}; unknown names stay as written") {
  std::map<std::string, std::string> vars{{"HOME", "/home/u"}, {"P", "proj"}};
  auto look = [&](std::string const& n) { return from(vars, n); };
  CHECK(reload::expand_vars("$HOME/src", look) == "/home/u/src");
  CHECK(reload::expand_vars("${HOME}/${P}/fn", look) == "/home/u/proj/fn");
  CHECK(reload::expand_vars("$NOPE/x", look) == "$NOPE/x");
  CHECK(reload::expand_vars("${NOPE}/x", look) == "${NOPE}/x");
  CHECK(reload::expand_vars("a$/b", look) == "a$/b");
  CHECK(reload::expand_vars("${HOME", look) == "${HOME");
  CHECK(reload::expand_vars("$HOME$P", look) == "/home/uproj");
}

TEST_CASE("host_directory: absolute, existing, allowed") {
  test::TempDir tmp;
  auto state = tmp.path / "state";
  auto code = tmp.path / "code";
  fs::create_directories(state / "functions");
  fs::create_directories(code / "sub");
  auto none = [](std::string const&) -> char const* { return nullptr; };
  auto any = reload::parse_policy("any", state);
  REQUIRE(any.has_value());

  auto ok = reload::host_directory((code / "sub" / "..").string(), *any, none);
  REQUIRE(ok.has_value());
  CHECK(*ok == fs::canonical(code).string());

  auto rel = reload::host_directory("code/dir", *any, none);
  REQUIRE_FALSE(rel.has_value());
  CHECK(rel.error().type == "InvalidParameterValueException");
  CHECK(rel.error().message ==
        "When using hot reloading, the archive key has to be an absolute path! Your archive key: code/dir");

  auto missing = reload::host_directory((code / "nope").string(), *any, none);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("does not exist") != std::string::npos);
  fs::path file = code / "f.txt";
  { std::ofstream(file) << "x"; }
  auto not_dir = reload::host_directory(file.string(), *any, none);
  REQUIRE_FALSE(not_dir.has_value());
  CHECK(not_dir.error().message.find("is not a directory") != std::string::npos);

  fs::create_directories(tmp.path / "a:b");
  auto colon = reload::host_directory((tmp.path / "a:b").string(), *any, none);
  REQUIRE_FALSE(colon.has_value());
  CHECK(colon.error().message.find("cannot take") != std::string::npos);
  for (auto const* sys : {"/etc", "/proc/self", "/", "/var/lib", "/var"})
    CHECK_MESSAGE(!reload::host_directory(sys, *any, none).has_value(), sys);
  CHECK_FALSE(reload::host_directory((state / "functions").string(), *any, none).has_value());
  CHECK_FALSE(reload::host_directory(tmp.path.string(), *any, none).has_value());  // it holds the state directory

  auto listed = reload::parse_policy((code / "sub").string(), state);
  REQUIRE(listed.has_value());
  CHECK(reload::host_directory((code / "sub").string(), *listed, none).has_value());
  auto outside = reload::host_directory(code.string(), *listed, none);
  REQUIRE_FALSE(outside.has_value());
  CHECK(outside.error().message.find("not under a directory --hot-reload-dirs allows") != std::string::npos);

  auto off = reload::parse_policy("none", state);
  REQUIRE(off.has_value());
  auto refused = reload::host_directory(code.string(), *off, none);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("--hot-reload-dirs none") != std::string::npos);
}

TEST_CASE("parse_policy: each listed directory must exist and be absolute") {
  test::TempDir tmp;
  CHECK_FALSE(reload::parse_policy("relative", tmp.path).has_value());
  CHECK_FALSE(reload::parse_policy((tmp.path / "missing").string(), tmp.path).has_value());
  auto two = reload::parse_policy(tmp.path.string() + ":/usr", tmp.path / "state");
  REQUIRE(two.has_value());
  CHECK(two->roots.size() == 2);
  CHECK(reload::is_hot_reload_bucket("hot-reload"));
  CHECK(reload::is_hot_reload_bucket("__local__"));
  CHECK_FALSE(reload::is_hot_reload_bucket("my-bucket"));
}
