// The completion token of every co_await that takes its error as a value
// (`auto [ec, n] = co_await op(..., use_tuple)`) instead of as an exception.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lambdad::util {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace lambdad::util
