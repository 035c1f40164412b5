// The unpacker against a table of hostile zips made here, and the good cases
// it must keep: modes, symlinks inside the tree, nested directories.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "store/unpack.hpp"
#include "util/fsutil.hpp"
#include "temp_dir.hpp"
#include "zip_maker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace lambdad;
using lambdad::test::make_zip;
using lambdad::test::TempDir;
using lambdad::test::ZipEntry;
namespace fs = std::filesystem;

TEST_CASE("the raw zip writer makes zips libarchive reads") {
  TempDir t;
  fs::path dir = t.path;
  auto r = store::unpack_zip(lambdad::test::make_raw_zip({{"a", "abc", S_IFREG | 0755}}), dir / "t", {});
  REQUIRE(r.has_value());
  CHECK(r->bytes == 3);
  // libarchive reads a FIFO mode as a regular file: it must come out as one.
  auto f = store::unpack_zip(lambdad::test::make_raw_zip({{"fifo", "", S_IFIFO | 0644}}), dir / "f", {});
  REQUIRE(f.has_value());
  CHECK(fs::is_regular_file(fs::symlink_status(dir / "f" / "fifo")));
}

TEST_CASE("a good zip keeps modes, directories and inside symlinks, and ends read-only") {
  TempDir t;
  auto zip = make_zip({{"bootstrap", "#!/bin/sh\necho hi\n", AE_IFREG, 0755, ""},
                       {"lib/data.txt", "hello", AE_IFREG, 0644, ""},
                       {"lib/link", "", AE_IFLNK, 0777, "data.txt"},
                       {"up", "", AE_IFLNK, 0777, "lib/../lib/data.txt"}});
  auto r = store::unpack_zip(zip, t.path / "tree", {});
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  CHECK(r->files == 2);
  CHECK(r->symlinks == 2);
  CHECK(r->bytes == 18 + 5);
  struct stat st {};
  REQUIRE(::stat((t.path / "tree/bootstrap").c_str(), &st) == 0);
  CHECK((st.st_mode & 0111) == 0111);
  CHECK((st.st_mode & 0222) == 0);
  CHECK(fs::read_symlink(t.path / "tree/lib/link") == "data.txt");
  REQUIRE(::stat((t.path / "tree/lib").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0555);
}

TEST_CASE("hostile zips are refused naming the entry and the reason, leaving nothing") {
  struct Case {
    char const* what;
    std::string zip;
    char const* expect;  // substring of the message
    bool too_large = false;
  };
  std::string zeros(40u << 20, '\0');
  std::vector<Case> cases = {
      {"traversal", make_zip({{"../evil", "x"}}), "entry `../evil`: path traversal"},
      {"nested traversal", make_zip({{"a/../../evil", "x"}}), "path traversal"},
      {"absolute path", make_zip({{"/etc/evil", "x"}}), "entry `/etc/evil`: absolute path"},
      {"symlink out", make_zip({{"out", "", AE_IFLNK, 0777, "../../etc"}}), "points outside the archive"},
      {"absolute symlink", make_zip({{"out", "", AE_IFLNK, 0777, "/etc/passwd"}}), "symlink to absolute path"},
      {"symlink chain out", make_zip({{"a", "", AE_IFLNK, 0777, "."}, {"b", "", AE_IFLNK, 0777, "a/.."}}),
       "entry `b`: symlink `a/..` points outside"},
      {"write through symlink", make_zip({{"d", "", AE_IFLNK, 0777, "."}, {"d/x", "x"}}),
       "passes through symlink `d`"},
      {"device", lambdad::test::make_raw_zip({{"ok", "fine", S_IFREG | 0644}, {"dev", "", S_IFCHR | 0644}}),
       "entry `dev`: device, fifo or socket"},
      {"bomb by ratio", make_zip({{"zeros", zeros}}), "zip bomb"},
      {"not a zip", std::string("this is plain text, not an archive at all\n"), "not a zip file"},
      {"empty file", std::string(), "not a zip file"},
  };
  // Truncated: a stored member cut short.
  std::string big(200000, 'q');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  auto whole = make_zip({{"one", big}, {"two", big}}, false);
  cases.push_back({"truncated", whole.substr(0, whole.size() / 2), "corrupt"});
  // Corrupt: flip bytes inside the deflated data of the first member.
  auto good = make_zip({{"file", big}});
  std::string corrupt = good;
  for (std::size_t i = 200; i < 260; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  cases.push_back({"corrupt data", corrupt, "entry `file`: corrupt data"});

  for (auto const& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    TempDir t;
    auto r = store::unpack_zip(c.zip, t.path / "tree", {});
    REQUIRE_FALSE(r.has_value());
    CHECK(store::is_bad_archive(r.error()));
    std::string msg = r.error().message();
    CAPTURE(msg);
    CHECK(msg.find(c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(t.path / "tree"));
  }
}

TEST_CASE("limits on entries and unzipped bytes") {
  TempDir t;
  std::vector<ZipEntry> many;
  for (int i = 0; i < 20; ++i) many.push_back({"f" + std::to_string(i), "x"});
  store::UnpackLimits limits;
  limits.max_entries = 10;
  auto r = store::unpack_zip(make_zip(many), t.path / "a", limits);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("more than 10 entries") != std::string::npos);

  limits = {};
  limits.max_bytes = 1000;
  auto big = store::unpack_zip(make_zip({{"big", std::string(5000, 'x')}}), t.path / "b", limits);
  REQUIRE_FALSE(big.has_value());
  CHECK(store::is_too_large(big.error()));
  CHECK_FALSE(fs::exists(t.path / "b"));
}

TEST_CASE("symlink_stays_inside follows other links the way the kernel would") {
  std::unordered_map<std::string, std::string> links = {{"a", "."}, {"deep/x", "../.."}, {"s", "sub/inner"}};
  CHECK(store::symlink_stays_inside("l", "lib/file", links));
  CHECK(store::symlink_stays_inside("lib/l", "../file", links));
  CHECK_FALSE(store::symlink_stays_inside("lib/l", "../../file", links));
  CHECK_FALSE(store::symlink_stays_inside("b", "a/..", links));
  CHECK_FALSE(store::symlink_stays_inside("y", "deep/x", links));
  CHECK(store::symlink_stays_inside("z", "s/..", links));  // sub/inner/.. = sub
  std::unordered_map<std::string, std::string> loop = {{"p", "q"}, {"q", "p"}};
  CHECK_FALSE(store::symlink_stays_inside("p", "q", loop));
}
