// Rendering of control-plane responses and errors in the exact AWS shape:
// x-amzn-RequestId on everything; errors with x-amzn-ErrorType and a JSON
// body carrying Type and both message keys (botocore reads `message`, some
// SDKs `Message`).
#include "control_plane.hpp"

#include "../store/unpack.hpp"

namespace lambdad::api {

namespace bhttp = boost::beast::http;

Response json_response(Call const& call, unsigned status, json const& body) {
  Response res{static_cast<bhttp::status>(status), call.req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-amzn-RequestId", call.request_id);
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

Response empty_response(Call const& call, unsigned status) {
  Response res{static_cast<bhttp::status>(status), call.req.version()};
  res.set("x-amzn-RequestId", call.request_id);
  return res;
}

Response error_response(unsigned version, std::string const& request_id, ApiError const& err) {
  Response res{static_cast<bhttp::status>(err.status), version};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-amzn-RequestId", request_id);
  res.set("x-amzn-ErrorType", err.type);
  json body = {{"Type", err.status >= 500 ? "Service" : "User"}, {"message", err.message}, {"Message", err.message}};
  if (!err.reason.empty()) body["Reason"] = err.reason;
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

Response error_response(Call const& call, ApiError const& err) {
  return error_response(call.req.version(), call.request_id, err);
}

ApiError unzip_error(Error const& e, std::uint64_t max_unzipped) {
  if (store::is_too_large(e))
    return model::invalid_parameter("Unzipped size must be smaller than " + std::to_string(max_unzipped) +
                                    " bytes");
  if (store::is_bad_archive(e))
    return model::invalid_parameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again. (" + e.message() + ")");
  return storage_error("store the code", e);
}

ApiError storage_error(std::string const& what, Error const& e) {
  if (e.code == std::errc::no_space_on_device || e.code.default_error_condition() == std::error_condition(EDQUOT, std::generic_category()))
    return {400, "CodeStorageExceededException",
            "Code storage limit exceeded: the filesystem of lambdad's state directory is full (" + e.message() + ")",
            {}};
  return model::service_error("lambdad could not " + what + ": " + e.message());
}

}  // namespace lambdad::api
