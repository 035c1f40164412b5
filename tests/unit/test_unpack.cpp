// The unpacker against a table of hostile zips made here, and the good cases
// it must keep: modes, symlinks inside the tree, nested directories.
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

namespace {

// Unpacking `zip` fails as a bad archive whose message holds each of
// `expect`, and leaves nothing at the target.
void check_refused(std::string const& zip, std::vector<std::string> const& expect) {
  TempDir t;
  auto r = store::unpack_zip(zip, t.path / "tree", {});
  CHECK_FALSE(r.has_value());  // every case is reported, not only the first accepted one
  if (r) return;
  CHECK(store::is_bad_archive(r.error()));
  std::string msg = r.error().message();
  CAPTURE(msg);
  for (auto const& e : expect) CHECK_MESSAGE(msg.find(e) != std::string::npos, e);
  CHECK_FALSE(fs::exists(t.path / "tree"));
}

}  // namespace

TEST_CASE("the raw zip writer makes zips libarchive reads") {
  TempDir t;
  fs::path dir = t.path;
  auto r = store::unpack_zip(lambdad::test::make_raw_zip({{"a", "abc", S_IFREG | 0755}}), dir / "t", {});
  REQUIRE(r.has_value());
  CHECK(r->bytes == 3);
  struct stat st {};
  REQUIRE(::stat((dir / "t/a").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0555);  // the mode comes from the central directory
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
       "entry `dev`: special file (character device)"},
      {"block device", lambdad::test::make_raw_zip({{"disk", "", S_IFBLK | 0600}}),
       "entry `disk`: special file (block device)"},
      // libarchive reads a FIFO as an empty regular file (for Info-ZIP's
      // `zip -` from a pipe); the unpacker refuses it with the devices.
      {"fifo", lambdad::test::make_raw_zip({{"bootstrap", "x", S_IFREG | 0755}, {"pipe", "", S_IFIFO | 0644}}),
       "entry `pipe`: special file (FIFO)"},
      {"socket", lambdad::test::make_raw_zip({{"sock", "", S_IFSOCK | 0755}}), "entry `sock`: special file (socket)"},
      {"bomb by ratio", make_zip({{"zeros", zeros}}), "zip bomb"},
      {"not a zip", std::string("this is plain text, not an archive at all\n"), "not a zip file"},
      {"empty file", std::string(), "not a zip file"},
  };
  // Truncated: a stored member cut short.
  std::string big(200000, 'q');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  auto whole = make_zip({{"one", big}, {"two", big}}, false);
  cases.push_back({"truncated", whole.substr(0, whole.size() / 2), "no end-of-central-directory record"});
  // Corrupt: flip bytes inside the deflated data of the first member.
  auto good = make_zip({{"file", big}});
  std::string corrupt = good;
  for (std::size_t i = 200; i < 260; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  cases.push_back({"corrupt data", corrupt, "entry `file`: corrupt data"});

  for (auto const& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    check_refused(c.zip, {c.expect});
  }
}

// The central directory holds the modes: a zip is read through it, and one
// without it or with a broken one is refused (as unzip does) rather than read
// from its local headers, which would make `bootstrap` 0444.
TEST_CASE("a zip is read through its central directory, which must be whole") {
  using namespace lambdad::test;
  auto zip = make_zip({{"bootstrap", "#!/bin/sh\necho hi\n", AE_IFREG, 0755, ""},
                       {"lib/data.txt", "hello", AE_IFREG, 0644, ""},
                       {"tail.txt", "the last entry", AE_IFREG, 0644, ""}});
  std::size_t eocd = eocd_offset(zip);
  std::size_t last = last_central_entry_size(zip);
  std::string at_eocd = "offset " + std::to_string(eocd - 10);
  struct Case {
    char const* what;
    std::string zip;
    std::vector<std::string> expect;  // substrings of the message
  };
  std::vector<Case> cases = {
      {"end record cut", cut_end(zip, 5), {"not a zip file", "no end-of-central-directory record"}},
      {"cut inside the directory", cut_end(zip, 22 + last / 2), {"no end-of-central-directory record"}},
      {"directory cut, end record kept", truncate_central_directory(zip, 10),
       {"central directory truncated", at_eocd, "do not fit before it"}},
      {"one entry gone, size fixed", truncate_central_directory(zip, last, true),
       {"central directory truncated", "lists 3 entries", "holds 2"}},
      {"entry cut, size fixed", truncate_central_directory(zip, 10, true),
       {"central directory truncated", "entry 3 of 3", "cut short"}},
  };
  // A local header offset that points at nothing: the entry is named.
  std::string bad_offset = zip;
  std::size_t cd = bad_offset.find(std::string("PK\x01\x02", 4));
  put_u32(bad_offset, cd + 42, 7);
  cases.push_back({"local header offset wrong", bad_offset, {"entry `bootstrap`", "no local header at offset 7"}});
  // The first directory entry's signature overwritten.
  std::string bad_sig = zip;
  bad_sig[cd + 2] = 'X';
  cases.push_back({"directory signature", bad_sig,
                   {"broken central directory", "offset " + std::to_string(cd), "entry 1 of 3"}});
  // A zip64 end record whose directory size is one byte short.
  auto z64 = make_raw_zip({{"bootstrap", "#!/bin/sh\n", S_IFREG | 0755}, {"lib/data.txt", "hello", S_IFREG | 0644},
                           {"tail.txt", "x", S_IFREG | 0644}},
                          true);
  std::string z64_short = z64;
  std::size_t rec = z64_short.rfind(std::string("PK\x06\x06", 4));
  put_u32(z64_short, rec + 40, get_u32(z64_short, rec + 40) - 1);
  cases.push_back({"zip64 directory size", z64_short,
                   {"central directory truncated", "zip64 end-of-central-directory record at offset " +
                                                       std::to_string(rec)}});
  for (auto const& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    check_refused(c.zip, c.expect);
  }

  // What ordinary tools make is still read: leading data (self-extracting
  // zips), a comment after the end record, zip64 end records.
  for (auto const& sample : {std::pair<char const*, std::string>{"prefix", with_prefix(zip, "#!/bin/sh\nexit\n")},
                             {"comment", with_comment(zip, "a zip comment PK")},
                             {"zip64", z64}}) {
    // Not a structured binding: clang 14 cannot capture one (CAPTURE does).
    auto const& what = sample.first;
    auto const& good = sample.second;
    CAPTURE(what);
    TempDir t;
    auto r = store::unpack_zip(good, t.path / "tree", {});
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    CHECK(r->files == 3);
    struct stat st {};
    REQUIRE(::stat((t.path / "tree/bootstrap").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0555);
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
