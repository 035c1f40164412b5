// The state directory: records survive a reopen, identical code is unpacked
// once, leftovers of interrupted writes are cleaned, unreferenced code is
// collected.
#include <doctest/doctest.h>

#include "store/state_dir.hpp"
#include "util/crypto.hpp"
#include "util/fsutil.hpp"
#include "temp_dir.hpp"
#include "zip_maker.hpp"

#include <unistd.h>

using namespace lambdad;
namespace fs = std::filesystem;
using lambdad::test::TempDir;

namespace {

std::string sha(std::string const& s) { return util::to_hex(util::sha256(s)); }

}  // namespace

TEST_CASE("records written are read back after a reopen") {
  TempDir t;
  {
    store::StateDir d(t.path);
    REQUIRE(d.open().has_value());
    model::FunctionRecord f;
    f.name = "fn";
    f.runtime = "provided.al2";
    f.environment = std::map<std::string, std::string>{{"A1", "b"}};
    f.layers = {{"arn:aws:lambda:us-east-1:000000000000:layer:rt:1", std::string(64, 'a'), 10, 20, {}}};
    f.revision_id = "rev";
    model::FunctionState st;
    st.latest = f;
    f.revision_id = "rev1";
    st.versions[1] = f;
    st.last_version = 3;  // versions 2 and 3 were deleted: numbers are not reused
    st.aliases["live"] = {"live", "1", "prod", {{"1", 0.25}}, "arev"};
    st.urls["live"] = {"live", std::string(32, 'x'), "NONE", nlohmann::json{{"AllowOrigins", {"*"}}}, std::nullopt,
                       "t0", "t1"};
    st.policies["live"] = {nlohmann::json{{"Sid", "url"}}};
    st.policy_revision = "prev";
    REQUIRE(d.write_function(st).has_value());
    model::LayerVersionRecord l;
    l.name = "rt";
    l.version = 1;
    REQUIRE(d.write_layer(l).has_value());
    l.version = 2;
    REQUIRE(d.write_layer(l).has_value());
    REQUIRE(d.remove_layer("rt", 2, 2).has_value());
  }
  store::StateDir d(t.path);
  auto loaded = d.open();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->functions.size() == 1);
  auto const& got = loaded->functions[0];
  CHECK(got.latest.environment->at("A1") == "b");
  CHECK(got.latest.layers[0].unzipped_size == 20);
  CHECK(got.latest.revision_id == "rev");
  CHECK(got.versions.at(1).revision_id == "rev1");
  CHECK(got.last_version == 3);
  CHECK(got.aliases.at("live").additional_weights.at("1") == 0.25);
  CHECK(got.urls.at("live").url_id == std::string(32, 'x'));
  CHECK(got.urls.at("live").cors->at("AllowOrigins")[0] == "*");
  CHECK(!got.urls.at("live").invoke_mode);
  CHECK(got.policies.at("live")[0]["Sid"] == "url");
  CHECK(got.policy_revision == "prev");
  REQUIRE(loaded->layers.size() == 1);
  CHECK(loaded->layer_watermarks.at("rt") == 2);  // version 2 is never handed out again
  CHECK(fs::is_empty(t.path / "tmp"));
}

TEST_CASE("a record of the first wave (a bare $LATEST) reads as a function without versions") {
  TempDir t;
  {
    store::StateDir d(t.path);
    REQUIRE(d.open().has_value());
  }
  model::FunctionRecord f;
  f.name = "old";
  f.revision_id = "r";
  REQUIRE(util::write_file_atomic(t.path / "functions" / "old.json", nlohmann::json(f).dump(), t.path / "tmp").has_value());
  store::StateDir d(t.path);
  auto loaded = d.open();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->functions.size() == 1);
  CHECK(loaded->functions[0].latest.name == "old");
  CHECK(loaded->functions[0].latest.revision_id == "r");
  CHECK(loaded->functions[0].versions.empty());
  CHECK(loaded->functions[0].aliases.empty());
}

TEST_CASE("identical code is unpacked once; unreferenced code is collected") {
  TempDir t;
  store::StateDir d(t.path);
  REQUIRE(d.open().has_value());
  auto zip = test::make_zip({{"bootstrap", "#!/bin/sh\n", AE_IFREG, 0755}});
  auto first = d.put_code(zip, sha(zip), {});
  REQUIRE(first.has_value());
  CHECK_FALSE(first->reused);
  CHECK(first->unzipped_size == 10);
  CHECK(fs::exists(d.tree_path(sha(zip)) / "bootstrap"));
  CHECK(fs::exists(d.blob_path(sha(zip))));
  auto second = d.put_code(zip, sha(zip), {});
  REQUIRE(second.has_value());
  CHECK(second->reused);
  CHECK(second->unzipped_size == 10);

  auto removed = d.collect({sha(zip)});
  REQUIRE(removed.has_value());
  CHECK(removed->empty());
  removed = d.collect({});
  REQUIRE(removed.has_value());
  CHECK(removed->size() == 1);
  CHECK_FALSE(fs::exists(d.tree_path(sha(zip))));
  CHECK_FALSE(fs::exists(d.blob_path(sha(zip))));
}

TEST_CASE("a bad zip leaves nothing in the state directory") {
  TempDir t;
  store::StateDir d(t.path);
  REQUIRE(d.open().has_value());
  auto zip = test::make_zip({{"../evil", "x"}});
  auto r = d.put_code(zip, sha(zip), {});
  REQUIRE_FALSE(r.has_value());
  CHECK(fs::is_empty(t.path / "trees" / "sha256"));
  CHECK(fs::is_empty(t.path / "blobs" / "sha256"));
  CHECK(fs::is_empty(t.path / "tmp"));
}

TEST_CASE("open() cleans what interrupted writes left and ignores incomplete trees") {
  TempDir t;
  {
    store::StateDir d(t.path);
    REQUIRE(d.open().has_value());
  }
  util::write_file_atomic(t.path / "tmp" / "half", "x", t.path / "tmp").value();
  fs::create_directories(t.path / "trees" / "sha256" / ".tmp-123" / "sub");
  // A tree renamed into place whose meta file was never written.
  auto zip = test::make_zip({{"f", "data"}});
  fs::create_directories(t.path / "trees" / "sha256" / sha(zip));
  store::StateDir d(t.path);
  auto loaded = d.open();
  REQUIRE(loaded.has_value());
  CHECK(loaded->notes.size() == 2);
  CHECK(fs::is_empty(t.path / "tmp"));
  CHECK_FALSE(fs::exists(t.path / "trees" / "sha256" / ".tmp-123"));
  auto put = d.put_code(zip, sha(zip), {});
  REQUIRE(put.has_value());
  CHECK_FALSE(put->reused);  // the incomplete tree was not trusted
  CHECK(fs::exists(d.tree_path(sha(zip)) / "f"));
}
