// Runs blocking work on another executor (the pool, or the store's strand)
// and resumes the calling coroutine on its own executor with the result.
// Written with async_initiate rather than a coroutine taking the callable:
// g++ 12 destroys by-value lambda parameters of coroutines twice.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace lambdad::util {

// The result type must be default-constructible (it is what an exception
// thrown by `f` travels with).
template <class Executor, class F>
auto offload(Executor ex, F f) {
  using R = std::invoke_result_t<F&>;
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(std::exception_ptr, R)>(
      [ex](auto handler, F fn) {
        boost::asio::post(ex, [handler = std::move(handler), fn = std::move(fn)]() mutable {
          std::exception_ptr error;
          R result{};
          try {
            result = fn();
          } catch (...) {
            error = std::current_exception();
          }
          auto home = boost::asio::get_associated_executor(handler);
          boost::asio::post(home, [handler = std::move(handler), error, result = std::move(result)]() mutable {
            std::move(handler)(error, std::move(result));
          });
        });
      },
      boost::asio::use_awaitable, std::move(f));
}

}  // namespace lambdad::util
