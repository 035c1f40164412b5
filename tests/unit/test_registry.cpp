// The function registry (resolution of names and qualifiers, publishing,
// the weighted alias), the policy statements and URL permission check, and
// the route table's pattern matching. Pure: no daemon.
#include <doctest/doctest.h>

#include "api/routes.hpp"
#include "registry/policy.hpp"
#include "registry/registry.hpp"

using namespace lambdad;
using nlohmann::json;

namespace {

constexpr char const* kArn = "arn:aws:lambda:us-east-1:000000000000:function:f";

registry::FunctionRegistry make_registry() {
  registry::FunctionRegistry r({}, [](std::string const& sha) { return std::filesystem::path("/trees") / sha; });
  model::FunctionState s;
  s.latest.name = "f";
  s.latest.code_sha256_hex = "aa";
  s.latest.revision_id = "r0";
  registry::publish_version(s, std::nullopt, "r1", "t1");
  s.latest.timeout = 9;
  s.latest.code_sha256_hex = "bb";
  registry::publish_version(s, std::nullopt, "r2", "t2");
  s.aliases["live"] = {"live", "1", "", {}, "a1"};
  s.aliases["split"] = {"split", "1", "", {{"2", 0.2}}, "a2"};
  r.load({s});
  return r;
}

}  // namespace

TEST_CASE("names and qualifiers resolve to what runs, with the ARN as qualified") {
  auto r = make_registry();
  auto bare = r.resolve("f", std::nullopt);
  REQUIRE(bare.has_value());
  CHECK(bare->version == "$LATEST");
  CHECK(bare->arn == kArn);
  auto latest = r.resolve("f", "$LATEST");
  REQUIRE(latest.has_value());
  CHECK(latest->arn == std::string(kArn) + ":$LATEST");
  auto one = r.resolve(std::string(kArn) + ":1", std::nullopt);
  REQUIRE(one.has_value());
  CHECK(one->version == "1");
  CHECK(one->record->code_sha256_hex == "aa");
  auto alias = r.resolve("f:live", "live");
  REQUIRE(alias.has_value());
  CHECK(alias->version == "1");
  CHECK(alias->arn == std::string(kArn) + ":live");
  auto missing = r.resolve("f", "9");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().message == "Function not found: " + std::string(kArn) + ":9");
  auto mismatch = r.resolve("f:1", "2");
  REQUIRE(!mismatch.has_value());
  CHECK(mismatch.error().status == 400);
  CHECK(!r.resolve("arn:aws:lambda:eu-west-1:000000000000:function:f", std::nullopt).has_value());  // another region
  CHECK(!r.resolve_unqualified("f:1").has_value());
  auto unq = r.resolve_unqualified("f:$LATEST");
  REQUIRE(unq.has_value());
  CHECK(*unq == "f");
  auto image = r.image(*one);
  CHECK(image.version == "1");
  CHECK(image.code_tree == "/trees/aa");
}

TEST_CASE("publishing: a snapshot, unless nothing changed; numbers never reused") {
  model::FunctionState s;
  s.latest.name = "g";
  s.latest.code_sha256_hex = "aa";
  CHECK(registry::publish_version(s, "first", "r1", "t") == 1);
  CHECK(registry::publish_version(s, std::nullopt, "r2", "t") == 1);  // unchanged: the same version
  CHECK(s.versions.at(1).revision_id == "r1");
  CHECK(s.versions.at(1).description == "first");
  s.latest.memory_size = 256;
  CHECK(registry::publish_version(s, std::nullopt, "r3", "t") == 2);
  s.versions.erase(2);
  s.latest.memory_size = 512;
  CHECK(registry::publish_version(s, std::nullopt, "r4", "t") == 3);
  CHECK(s.versions.at(1).memory_size == 128);  // versions are snapshots
}

TEST_CASE("a weighted alias runs its extra version with its weight") {
  auto r = make_registry();
  r.seed(42);
  auto split = *r.resolve("f", "split");
  int extra = 0;
  for (int i = 0; i < 10000; ++i) extra += r.route(split).version == "2";
  CHECK(extra > 1800);
  CHECK(extra < 2200);
  auto live = *r.resolve("f", "live");
  for (int i = 0; i < 100; ++i) CHECK(r.route(live).version == "1");
}

TEST_CASE("referenced trees: every version's code is kept") {
  auto r = make_registry();
  auto keep = r.referenced_shas();
  CHECK(keep.count("aa"));
  CHECK(keep.count("bb"));
}

TEST_CASE("statements as AWS writes them, and what a function URL needs") {
  auto st = registry::make_statement(json{{"StatementId", "s"}, {"Action", "lambda:InvokeFunction"},
                                          {"Principal", "s3.amazonaws.com"}, {"SourceArn", "arn:aws:s3:::b"},
                                          {"SourceAccount", "111122223333"}},
                                     kArn);
  REQUIRE(st.has_value());
  CHECK(registry::statement_text(*st) ==
        std::string("{\"Sid\":\"s\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},"
                    "\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"") + kArn +
            "\",\"Condition\":{\"StringEquals\":{\"AWS:SourceAccount\":\"111122223333\"},"
            "\"ArnLike\":{\"AWS:SourceArn\":\"arn:aws:s3:::b\"}}}");
  CHECK(!registry::make_statement(json{{"StatementId", "bad id"}, {"Action", "lambda:X"}, {"Principal", "*"}}, kArn).has_value());
  CHECK(!registry::make_statement(json{{"StatementId", "s"}, {"Action", "nope"}, {"Principal", "*"}}, kArn).has_value());
  CHECK(!registry::make_statement(json{{"StatementId", "s"}, {"Action", "lambda:InvokeFunction"},
                                       {"Principal", "*"}, {"FunctionUrlAuthType", "NONE"}},
                                  kArn).has_value());  // only for InvokeFunctionUrl
  auto url = registry::make_statement(json{{"StatementId", "u"}, {"Action", "lambda:InvokeFunctionUrl"},
                                           {"Principal", "*"}, {"FunctionUrlAuthType", "NONE"}},
                                      kArn);
  REQUIRE(url.has_value());
  auto s3 = *st;
  CHECK(registry::url_allows({*url}, "lambda:InvokeFunctionUrl", "NONE", std::nullopt));
  CHECK(!registry::url_allows({*url}, "lambda:InvokeFunctionUrl", "AWS_IAM", std::nullopt));
  CHECK(!registry::url_allows({s3}, "lambda:InvokeFunction", "NONE", std::nullopt));  // a condition a URL cannot meet
  CHECK(!registry::url_allows({*url}, "lambda:InvokeFunction", "NONE", std::nullopt));
}

TEST_CASE("route patterns: one segment per parameter, a trailing slash ignored") {
  auto m = api::match_pattern("/2015-03-31/functions/{name}/aliases/{alias}",
                              {"2015-03-31", "functions", "f", "aliases", "live"});
  REQUIRE(m);
  CHECK(m->at("name") == "f");
  CHECK(m->at("alias") == "live");
  CHECK(api::match_pattern("/2015-03-31/functions", {"2015-03-31", "functions", ""}));
  CHECK(api::match_pattern("/", {}));
  CHECK(api::match_pattern("/", {""}));
  CHECK(!api::match_pattern("/2015-03-31/functions/{name}", {"2015-03-31", "functions", "f", "code"}));
  CHECK(!api::match_pattern("/2015-03-31/functions/{name}/code", {"2015-03-31", "functions", "f"}));
}
