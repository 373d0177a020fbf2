// Runs one coroutine to its end on an io_context whose loop is not running yet (start-up,
// command-line tools): the loop is driven here until the coroutine is done (other work on the
// context runs meanwhile). Its result, or nullopt if it threw (logged).
//
// Result<T> has no default constructor, which co_spawn's completion for awaitable<T> wants:
// the result goes through a void coroutine into an optional.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <spdlog/spdlog.h>

namespace portico {

namespace run_to_end_detail {
template <typename T>
boost::asio::awaitable<void> into(std::optional<T>& out, boost::asio::awaitable<T> work) {
  out.emplace(co_await std::move(work));
}
}  // namespace run_to_end_detail

template <typename T>
std::optional<T> run_to_end(boost::asio::io_context& io, boost::asio::awaitable<T> work) {
  std::optional<T> out;
  bool done = false;
  boost::asio::co_spawn(io, run_to_end_detail::into(out, std::move(work)), [&done](std::exception_ptr e) {
    done = true;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("{}", x.what());
    }
  });
  while (!done) {
    io.run_one_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();
  }
  io.restart();
  return out;
}

}  // namespace portico
