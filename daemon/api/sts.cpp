// STS on the same port, query protocol with XML replies: GetCallerIdentity is
// what deploy scripts call to learn the account id. Other actions get STS's
// InvalidAction error.
#include "control_plane.hpp"

#include <boost/url/parse_query.hpp>

namespace lambdad::api {

namespace bhttp = boost::beast::http;

namespace {

constexpr char const* kNs = "https://sts.amazonaws.com/doc/2011-06-15/";

Response xml(Call const& call, bhttp::status status, std::string body) {
  Response res{status, call.req.version()};
  res.set(bhttp::field::content_type, "text/xml");
  res.set("x-amzn-RequestId", call.request_id);
  res.body() = std::move(body);
  return res;
}

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

Response sts_error(Call const& call, unsigned status, std::string const& code, std::string const& message) {
  return xml(call, static_cast<bhttp::status>(status),
             std::string("<ErrorResponse xmlns=\"") + kNs + "\">\n"
             "  <Error>\n"
             "    <Type>Sender</Type>\n"
             "    <Code>" + code + "</Code>\n"
             "    <Message>" + escaped(message) + "</Message>\n"
             "  </Error>\n"
             "  <RequestId>" + call.request_id + "</RequestId>\n"
             "</ErrorResponse>\n");
}

boost::asio::awaitable<Response> ControlPlane::sts(Call call) {
  std::map<std::string, std::string> params = call.query;
  auto form = boost::urls::parse_query(call.req.body());
  if (form)
    for (auto p : *form) params[p.key.decode()] = p.value.decode();
  std::string action = params.count("Action") ? params["Action"] : "";
  auto const& account = cfg_.identity.account;
  if (action == "GetCallerIdentity") {
    co_return xml(call, bhttp::status::ok,
               std::string("<GetCallerIdentityResponse xmlns=\"") + kNs + "\">\n"
               "  <GetCallerIdentityResult>\n"
               "    <Arn>arn:aws:iam::" + account + ":root</Arn>\n"
               "    <UserId>" + account + "</UserId>\n"
               "    <Account>" + account + "</Account>\n"
               "  </GetCallerIdentityResult>\n"
               "  <ResponseMetadata>\n"
               "    <RequestId>" + call.request_id + "</RequestId>\n"
               "  </ResponseMetadata>\n"
               "</GetCallerIdentityResponse>\n");
  }
  co_return sts_error(call, 400, "InvalidAction", "Could not find operation " + action + " for version 2011-06-15");
}

}  // namespace lambdad::api
