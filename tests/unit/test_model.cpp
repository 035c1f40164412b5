// ARN parsing, request validation and error rendering: pure code, no sockets.
#include <doctest/doctest.h>

#include "api/control_plane.hpp"
#include "model/arn.hpp"
#include "model/validate.hpp"

using namespace lambdad;
using nlohmann::json;

TEST_CASE("function names: bare, qualified, partial ARN, full ARN") {
  auto bare = model::parse_function_ref("my-fn_1");
  REQUIRE(bare.has_value());
  CHECK(bare->name == "my-fn_1");
  CHECK_FALSE(bare->qualifier);

  auto qual = model::parse_function_ref("f:$LATEST");
  REQUIRE(qual.has_value());
  CHECK(*qual->qualifier == "$LATEST");

  auto partial = model::parse_function_ref("123456789012:function:f");
  REQUIRE(partial.has_value());
  CHECK(partial->name == "f");
  CHECK(*partial->account == "123456789012");

  auto full = model::parse_function_ref("arn:aws:lambda:eu-west-1:123456789012:function:f:prod");
  REQUIRE(full.has_value());
  CHECK(full->name == "f");
  CHECK(*full->region == "eu-west-1");
  CHECK(*full->qualifier == "prod");

  // A name no function can have (65 characters, a '.') still matches the
  // lookup shape: AWS answers GetFunction/Invoke for it with "not found".
  CHECK(model::parse_function_ref(std::string(65, 'a')).has_value());
  CHECK(model::parse_function_ref("my.fn").has_value());
  auto named_function = model::parse_function_ref("arn:aws:lambda:us-east-1:123456789012:function");
  REQUIRE(named_function.has_value());
  CHECK(named_function->name == "function");
  auto gov = model::parse_function_ref("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST.PUBLISHED");
  REQUIRE(gov.has_value());
  CHECK(*gov->region == "us-gov-west-1");
  CHECK(*gov->qualifier == "$LATEST.PUBLISHED");

  std::vector<std::string> bads = {"", "a b", "f:g:h", "arn:aws:lambda:eu-west-1:12345:function:f",
                                   "arn:aws:s3:::bucket", "12345678901x:function:f", "my-function!",
                                   "f:bad qual", "arn:aws:lambda::123456789012:function:f",
                                   "arn:aws:lambda:invalid-region:123456789012:function:f",
                                   "function:f:$LATEST:extra"};
  for (auto const& bad : bads) {
    CAPTURE(bad);
    auto r = model::parse_function_ref(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().type == "ValidationException");
    CHECK(r.error().status == 400);
  }
}

TEST_CASE("layer ARNs") {
  model::Identity id;
  auto v = model::parse_layer_version_arn("arn:aws:lambda:us-east-1:000000000000:layer:rt:3", id);
  REQUIRE(v.has_value());
  CHECK(v->name == "rt");
  CHECK(v->version == 3);
  CHECK_FALSE(model::parse_layer_version_arn("arn:aws:lambda:us-east-1:000000000000:layer:rt", id).has_value());
  CHECK_FALSE(model::parse_layer_version_arn("arn:aws:lambda:us-east-1:000000000000:layer:rt:0", id).has_value());
  CHECK_FALSE(model::parse_layer_version_arn("arn:aws:lambda:us-east-1:000000000000:layer:rt:x", id).has_value());
  CHECK_FALSE(model::parse_layer_version_arn("arn:aws:lambda:eu-west-1:000000000000:layer:rt:1", id).has_value());
  CHECK(model::layer_version_arn(id, "rt", 2) == "arn:aws:lambda:us-east-1:000000000000:layer:rt:2");
  auto name = model::parse_layer_name("arn:aws:lambda:us-east-1:000000000000:layer:rt", id);
  REQUIRE(name.has_value());
  CHECK(*name == "rt");
  CHECK_FALSE(model::parse_layer_name("bad name", id).has_value());
}

namespace {

std::string const kCreatePattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
    "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";
std::string const kNamespacedPattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
    "(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";

std::string one(std::string const& value, std::string const& field, std::string const& constraint) {
  return "1 validation error detected: Value '" + value + "' at '" + field + "' failed to satisfy constraint: " +
         constraint;
}

std::string at(std::string const& value, std::string const& field, std::string const& constraint) {
  return "Value '" + value + "' at '" + field + "' failed to satisfy constraint: " + constraint;
}

}  // namespace

TEST_CASE("CreateFunction's FunctionName: 140 for the value, 64 for the name, AWS's words") {
  std::string const arn_prefix = "arn:aws:lambda:us-east-1:000000000000:function:";
  // 140 characters pass the model (here an ARN, a 64-character name and a
  // qualifier); the name itself is then held to 64.
  std::string name64(64, 'a');
  auto at_140 = model::parse_new_function_name(arn_prefix + name64 + ":" +
                                               std::string(140 - arn_prefix.size() - 65, 'q'));
  CHECK(at_140.has_value());
  CHECK(model::parse_new_function_name(std::string(64, 'a')).has_value());

  std::string n65(65, 'a');
  auto r65 = model::parse_new_function_name(n65);
  REQUIRE_FALSE(r65.has_value());
  CHECK(r65.error().type == "InvalidParameterValueException");
  CHECK(r65.error().message == one(n65, "functionName", "Member must have length less than or equal to 64"));

  std::string n141(141, 'a');
  auto r141 = model::parse_new_function_name(n141);
  REQUIRE_FALSE(r141.has_value());
  CHECK(r141.error().type == "ValidationException");
  CHECK(r141.error().status == 400);
  CHECK(r141.error().message == one(n141, "functionName", "Member must have length less than or equal to 140"));

  std::string arn141 = arn_prefix + std::string(141 - arn_prefix.size(), 'a');
  CHECK(model::parse_new_function_name(arn141).error().message ==
        one(arn141, "functionName", "Member must have length less than or equal to 140"));

  // The create shape has no '.' in a name and no $LATEST.PUBLISHED.
  CHECK(model::parse_new_function_name("my.fn").error().message == one("my.fn", "functionName", kCreatePattern));
  CHECK_FALSE(model::parse_new_function_name("f:$LATEST.PUBLISHED").has_value());

  // Both broken: both listed, pattern first.
  std::string both = std::string(141, 'a') + "!";
  CHECK(model::parse_new_function_name(both).error().message ==
        "2 validation errors detected: " + at(both, "functionName", kCreatePattern) + "; " +
            at(both, "functionName", "Member must have length less than or equal to 140"));
}

TEST_CASE("a looked-up FunctionName (GetFunction, Invoke): 256, then the pattern") {
  std::string n256(256, 'a'), n257(257, 'a');
  CHECK(model::parse_function_ref(n256).has_value());
  auto r = model::parse_function_ref(n257);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().type == "ValidationException");
  CHECK(r.error().message == one(n257, "functionName", "Member must have length less than or equal to 256"));
  CHECK(model::parse_function_ref("my-function!").error().message ==
        one("my-function!", "functionName", kNamespacedPattern));
  // The FunctionName shape, as UpdateFunction* and the concurrency calls take it.
  CHECK(model::parse_function_ref(std::string(140, 'a'), model::NameShape::function_name).has_value());
  CHECK(model::parse_function_ref(std::string(141, 'a'), model::NameShape::function_name).error().message ==
        one(std::string(141, 'a'), "functionName", "Member must have length less than or equal to 140"));
}

TEST_CASE("LayerName: 140, then the pattern") {
  model::Identity id;
  CHECK(model::parse_layer_name(std::string(140, 'l'), id).has_value());
  std::string l141(141, 'l');
  auto r = model::parse_layer_name(l141, id);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().type == "ValidationException");
  CHECK(r.error().message == one(l141, "layerName", "Member must have length less than or equal to 140"));
  std::string const pattern =
      "Member must satisfy regular expression pattern: "
      "(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
      "layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";
  CHECK(model::parse_layer_name("bad name", id).error().message == one("bad name", "layerName", pattern));
  std::string both = l141 + "!";
  CHECK(model::parse_layer_name(both, id).error().message ==
        "2 validation errors detected: " + at(both, "layerName", pattern) + "; " +
            at(both, "layerName", "Member must have length less than or equal to 140"));
  CHECK(model::parse_layer_name("arn:aws:lambda:eu-west-1:000000000000:layer:rt", id).error().type ==
        "ResourceNotFoundException");
}

namespace {

json create_body() {
  return {{"FunctionName", "f"},
          {"Runtime", "provided.al2"},
          {"Role", "arn:aws:iam::123456789012:role/lambda-role"},
          {"Handler", "handler"}};
}

std::optional<model::ApiError> apply_body(json const& body, bool create = true) {
  model::FunctionRecord rec;
  model::HostInfo host;
  host.architectures = {"x86_64"};
  return model::apply_function_config(body, rec, create, model::Identity{}, host);
}

}  // namespace

TEST_CASE("a valid CreateFunction body applies with Lambda's defaults") {
  model::FunctionRecord rec;
  model::HostInfo host;
  auto body = create_body();
  body["Environment"] = {{"Variables", {{"GREETING", "hi"}}}};
  REQUIRE_FALSE(model::apply_function_config(body, rec, true, model::Identity{}, host).has_value());
  CHECK(rec.timeout == 3);
  CHECK(rec.memory_size == 128);
  CHECK(rec.ephemeral_storage == 512);
  CHECK(rec.architecture == "x86_64");
  CHECK(rec.environment->at("GREETING") == "hi");
}

TEST_CASE("LoggingConfig is stored as AWS returns it: JSON with levels, Text without, merged on update") {
  model::FunctionRecord rec;
  model::HostInfo host;
  auto body = create_body();
  body["LoggingConfig"] = {{"LogFormat", "JSON"}};
  REQUIRE_FALSE(model::apply_function_config(body, rec, true, model::Identity{}, host).has_value());
  CHECK(rec.logging == model::LoggingConfig{"JSON", "INFO", "INFO", ""});
  json update = {{"LoggingConfig", {{"SystemLogLevel", "DEBUG"}, {"LogGroup", "/shared/x"}}}};
  REQUIRE_FALSE(model::apply_function_config(update, rec, false, model::Identity{}, host).has_value());
  CHECK(rec.logging == model::LoggingConfig{"JSON", "INFO", "DEBUG", "/shared/x"});
  update = {{"LoggingConfig", {{"LogFormat", "Text"}}}};
  REQUIRE_FALSE(model::apply_function_config(update, rec, false, model::Identity{}, host).has_value());
  CHECK(rec.logging == model::LoggingConfig{"Text", "", "", "/shared/x"});
  CHECK(model::log_group_of("fn", rec.logging) == "/shared/x");
  CHECK(model::log_group_of("fn", model::LoggingConfig{}) == "/aws/lambda/fn");
  update = {{"LoggingConfig", {{"LogFormat", "JSON"}, {"ApplicationLogLevel", "BAD"}}}};
  REQUIRE(model::apply_function_config(update, rec, false, model::Identity{}, host).has_value());
  CHECK(rec.logging.log_format == "Text");  // a refused update changes nothing
  json stored = rec;
  CHECK(stored.get<model::FunctionRecord>().logging == rec.logging);
}

TEST_CASE("each invalid field is refused with AWS's error type and a message naming it") {
  struct Case {
    char const* what;
    json patch;
    char const* type;
    char const* text;
  };
  std::vector<Case> cases = {
      {"bad role", {{"Role", "not-a-role"}}, "ValidationException", "at 'role'"},
      {"role from wrong service", {{"Role", "arn:aws:iam::123456789012:user/x"}}, "ValidationException", "role"},
      {"unsupported runtime", {{"Runtime", "python3.12"}}, "InvalidParameterValueException", "python3.12"},
      {"timeout 0", {{"Timeout", 0}}, "ValidationException", "greater than or equal to 1"},
      {"timeout 901", {{"Timeout", 901}}, "ValidationException", "less than or equal to 900"},
      {"timeout string", {{"Timeout", "3"}}, "InvalidRequestContentException", "Timeout"},
      {"memory 64", {{"MemorySize", 64}}, "ValidationException", "at 'memorySize'"},
      {"memory 10241", {{"MemorySize", 10241}}, "ValidationException", "10240"},
      {"ephemeral 511", {{"EphemeralStorage", {{"Size", 511}}}}, "ValidationException", "ephemeralStorage"},
      {"handler spaces", {{"Handler", "a b"}}, "ValidationException", "handler"},
      {"handler long", {{"Handler", std::string(129, 'h')}}, "ValidationException", "128"},
      {"two archs", {{"Architectures", {"x86_64", "arm64"}}}, "ValidationException", "architectures"},
      {"unknown arch", {{"Architectures", {"mips"}}}, "ValidationException", "x86_64, arm64"},
      {"arch the host cannot run", {{"Architectures", {"arm64"}}}, "InvalidParameterValueException", "cannot run"},
      {"env key", {{"Environment", {{"Variables", {{"1BAD", "x"}}}}}}, "ValidationException", "1BAD"},
      {"env reserved", {{"Environment", {{"Variables", {{"AWS_REGION", "x"}}}}}}, "InvalidParameterValueException",
       "AWS_REGION"},
      {"env too big", {{"Environment", {{"Variables", {{"BIG", std::string(5000, 'x')}}}}}},
       "InvalidParameterValueException", "4KB"},
      {"six layers",
       {{"Layers", json::array({"arn:aws:lambda:us-east-1:000000000000:layer:a:1", "arn:aws:lambda:us-east-1:000000000000:layer:b:1",
                                "arn:aws:lambda:us-east-1:000000000000:layer:c:1", "arn:aws:lambda:us-east-1:000000000000:layer:d:1",
                                "arn:aws:lambda:us-east-1:000000000000:layer:e:1", "arn:aws:lambda:us-east-1:000000000000:layer:f:1"})}},
       "InvalidParameterValueException", "Cannot reference more than 5 layers."},
      {"two versions of a layer",
       {{"Layers", json::array({"arn:aws:lambda:us-east-1:000000000000:layer:a:1", "arn:aws:lambda:us-east-1:000000000000:layer:a:2"})}},
       "InvalidParameterValueException", "same layer"},
      {"layer not an ARN", {{"Layers", json::array({"rt"})}}, "ValidationException", "layers"},
      {"image package", {{"PackageType", "Image"}}, "InvalidParameterValueException", "Zip"},
      {"log format", {{"LoggingConfig", {{"LogFormat", "XML"}}}}, "ValidationException", "at 'loggingConfig.logFormat'"},
      {"app level", {{"LoggingConfig", {{"ApplicationLogLevel", "LOUD"}}}}, "ValidationException",
       "[TRACE, DEBUG, INFO, WARN, ERROR, FATAL]"},
      {"system level", {{"LoggingConfig", {{"SystemLogLevel", "ERROR"}}}}, "ValidationException",
       "at 'loggingConfig.systemLogLevel'"},
      {"log group chars", {{"LoggingConfig", {{"LogGroup", "a b"}}}}, "ValidationException", "[\\.\\-_/#A-Za-z0-9]+"},
      {"log group empty", {{"LoggingConfig", {{"LogGroup", ""}}}}, "ValidationException", "greater than or equal to 1"},
      {"log group long", {{"LoggingConfig", {{"LogGroup", std::string(513, 'g')}}}}, "ValidationException", "512"},
      {"logging config type", {{"LoggingConfig", "JSON"}}, "InvalidRequestContentException", "LoggingConfig"},
  };
  for (auto const& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    auto body = create_body();
    body.update(c.patch);
    auto e = apply_body(body);
    REQUIRE(e.has_value());
    CHECK(e->type == c.type);
    std::string msg = e->message;
    CAPTURE(msg);
    CHECK(msg.find(c.text) != std::string::npos);
  }
  SUBCASE("missing Role, Runtime or Handler on create") {
    for (auto key : {"Role", "Runtime", "Handler"}) {
      auto body = create_body();
      body.erase(key);
      CHECK(apply_body(body).has_value());
      CHECK_FALSE(apply_body(body, false).has_value());  // an update may leave them out
    }
  }
}

TEST_CASE("string fields at and one over the model's limits, in AWS's words") {
  struct Case {
    char const* key;
    char const* wire;
    std::size_t max;
    char fill;
    std::string prefix;
  };
  std::string const role = "arn:aws:iam::123456789012:role/";
  std::vector<Case> cases = {{"FunctionName", "functionName", 140, 'q',
                              "arn:aws:lambda:us-east-1:000000000000:function:" + std::string(64, 'a') + ":"},
                             {"Handler", "handler", 128, 'h', ""},
                             {"Description", "description", 256, 'd', ""},
                             {"Role", "role", 10000, 'r', role}};
  for (auto const& c : cases) {
    CAPTURE(c.key);
    auto body = create_body();
    body[c.key] = c.prefix + std::string(c.max - c.prefix.size(), c.fill);
    CHECK_FALSE(apply_body(body).has_value());
    std::string over = c.prefix + std::string(c.max + 1 - c.prefix.size(), c.fill);
    body[c.key] = over;
    auto e = apply_body(body);
    REQUIRE(e.has_value());
    CHECK(e->type == "ValidationException");
    CHECK(e->message == one(over, c.wire, "Member must have length less than or equal to " + std::to_string(c.max)));
  }
  auto body = create_body();
  body["FunctionName"] = std::string(65, 'a');
  auto e = apply_body(body);
  REQUIRE(e.has_value());
  CHECK(e->type == "InvalidParameterValueException");
  CHECK(e->message == one(std::string(65, 'a'), "functionName", "Member must have length less than or equal to 64"));
  body = create_body();
  std::string spaced = std::string(128, 'h') + " ";
  body["Handler"] = spaced;
  CHECK(apply_body(body)->message == "2 validation errors detected: " +
                                         at(spaced, "handler", "Member must satisfy regular expression pattern: [^\\s]+") +
                                         "; " + at(spaced, "handler", "Member must have length less than or equal to 128"));
}

TEST_CASE("errors render in the AWS shape") {
  api::Call call;
  call.req.version(11);
  call.request_id = "req-1";
  auto res = api::error_response(call, model::not_found("Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"));
  CHECK(res.result_int() == 404);
  CHECK(res["x-amzn-ErrorType"] == "ResourceNotFoundException");
  CHECK(res["x-amzn-RequestId"] == "req-1");
  CHECK(res[boost::beast::http::field::content_type] == "application/json");
  auto body = json::parse(res.body());
  CHECK(body["Type"] == "User");
  CHECK(body["message"] == body["Message"]);
  CHECK(body["Message"].get<std::string>().find("function:nope") != std::string::npos);

  auto svc = api::error_response(call, model::service_error("disk full"));
  CHECK(svc.result_int() == 500);
  CHECK(json::parse(svc.body())["Type"] == "Service");

  auto v = model::validation("901", "timeout", "Member must have value less than or equal to 900");
  CHECK(v.message ==
        "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value "
        "less than or equal to 900");
}
