// Function URLs: any HTTP request becomes a payload 2.0 event that is valid
// JSON; any payload a function returns becomes a response (inferred, or
// from the streaming prelude) without a crash, with a status in range.
#include "input.hpp"
#include "urls/event.hpp"
#include "urls/stream_prelude.hpp"

#include <nlohmann/json.hpp>

using namespace lambdad;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  fuzz::Fields f(data, size);
  urls::HttpRequest req;
  req.method = f.next();
  req.target = f.next();
  for (auto& [name, value] : f.headers(8)) req.headers.push_back({std::move(name), std::move(value)});
  req.body = std::string(f.rest());
  req.source_ip = "127.0.0.1";
  req.local_port = 9000;
  urls::UrlContext ctx;
  ctx.url_id = "abcdefghijklmnopqrstuvwxyz012345";
  ctx.domain_name = ctx.url_id + ".lambda-url.us-east-1.on.aws";
  ctx.account_id = "anonymous";
  ctx.request_id = "00000000-0000-0000-0000-000000000000";
  ctx.time = std::chrono::system_clock::time_point(std::chrono::seconds(1796284800));
  auto event = urls::to_event(req, ctx);
  auto text = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!nlohmann::json::accept(text)) fuzz::violated("the event is not JSON");

  std::string_view payload(reinterpret_cast<char const*>(data), size);
  auto res = urls::from_payload(payload);
  if (res.status < 100 || res.status > 999) fuzz::violated("an inferred status out of range");
  auto head = urls::head_of_prelude(payload);
  if (head.status < 100 || head.status > 999) fuzz::violated("a prelude status out of range");
  return 0;
}
