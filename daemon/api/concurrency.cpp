// Reserved concurrency: PutFunctionConcurrency, GetFunctionConcurrency,
// DeleteFunctionConcurrency. Stored in the function's record; Invoke refuses
// past it with TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded).
#include "control_plane.hpp"
#include "upload.hpp"


namespace lambdad::api {

namespace asio = boost::asio;

asio::awaitable<Response> ControlPlane::put_function_concurrency(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  json body;
  if (auto e = parse_json_body(call.req.body(), body)) co_return error_response(call, *e);
  auto const& v = body["ReservedConcurrentExecutions"];
  if (!v.is_number_integer())
    co_return error_response(call, model::validation("null", "reservedConcurrentExecutions", "Member must not be null"));
  long n = v.get<long>();
  if (n < 0)
    co_return error_response(call, model::validation(std::to_string(n), "reservedConcurrentExecutions",
                                                     "Member must have value greater than or equal to 0"));
  if (n > max_concurrency())
    co_return error_response(call, model::invalid_parameter(
        "Specified ReservedConcurrentExecutions for function exceeds the account's concurrency limit of " +
        std::to_string(max_concurrency()) + "."));
  std::string name = *resolved;
  if (functions_.busy(name))
    co_return error_response(call, update_in_progress(name));
  model::FunctionRecord rec = functions_.find(name)->latest;
  rec.reserved_concurrency = static_cast<int>(n);
  auto failed = co_await save_record(rec);
  if (failed) co_return error_response(call, *failed);
  co_return json_response(call, 200, {{"ReservedConcurrentExecutions", n}});
}

asio::awaitable<Response> ControlPlane::get_function_concurrency(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  auto const& rec = functions_.find(*resolved)->latest;
  json out = json::object();
  if (rec.reserved_concurrency) out["ReservedConcurrentExecutions"] = *rec.reserved_concurrency;
  co_return json_response(call, 200, out);
}

asio::awaitable<Response> ControlPlane::delete_function_concurrency(Call call) {
  auto resolved = functions_.resolve_unqualified(call.param("name"));
  if (!resolved) co_return error_response(call, resolved.error());
  std::string name = *resolved;
  if (functions_.busy(name))
    co_return error_response(call, update_in_progress(name));
  model::FunctionRecord rec = functions_.find(name)->latest;
  rec.reserved_concurrency.reset();
  auto failed = co_await save_record(rec);
  if (failed) co_return error_response(call, *failed);
  co_return empty_response(call, 204);
}

}  // namespace lambdad::api
