#include "obs/batch_sender.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/http_fetch.hpp"

namespace portico::obs {
namespace asio = boost::asio;
namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer timer(io, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

std::shared_ptr<BatchSender> BatchSender::start(asio::io_context* control, BatchSenderOptions options) {
  auto sender = std::shared_ptr<BatchSender>(new BatchSender(std::move(options)));
  if (control != nullptr) {
    asio::co_spawn(*control, deliver(sender, *control), asio::detached);
  }
  return sender;
}

bool BatchSender::push(std::string entry) {
  if (queue_.push(std::move(entry))) return true;
  count(options_.dropped, 1);
  return false;
}

asio::awaitable<void> BatchSender::deliver(std::weak_ptr<BatchSender> weak, asio::io_context& io) {
  for (;;) {
    std::size_t entries = 0;
    net::OutgoingRequest request;
    net::FetchOptions fetch;
    {
      auto self = weak.lock();
      if (!self) co_return;  // no configuration uses this queue any more
      const auto& o = self->options_;
      if (self->queue_.size() == 0 || (self->queue_.size() < o.max_batch_size && o.max_batch_size > 1)) {
        // Wait for entries; a partial batch goes after max_coalescing_delay (Kong's rule).
        auto wait = self->queue_.size() == 0 ? std::chrono::milliseconds(50) : ms(o.max_coalescing_delay);
        self.reset();
        co_await sleep_for(io, wait);
        self = weak.lock();
        if (!self || self->queue_.size() == 0) continue;
      }
      std::vector<std::string> batch = self->queue_.take(o.max_batch_size);
      if (batch.empty()) continue;
      entries = batch.size();
      request.method = o.method;
      request.url = o.endpoint;
      request.header_lines = o.header_lines;
      request.body = o.payload(batch);
      fetch.timeout = std::chrono::milliseconds(o.timeout_ms);
      fetch.max_body = 64 * 1024;
    }
    // Send, retrying with exponential backoff until max_retry_time.
    auto started = std::chrono::steady_clock::now();
    double delay = 0;
    for (;;) {
      net::FetchResult result = co_await net::http_send(io, request, fetch);
      auto self = weak.lock();
      if (!self) co_return;
      const auto& o = self->options_;
      if (result.status != 0 && o.accepted(result.status)) {
        self->count(o.sent, entries);
        break;
      }
      self->count(o.failures, 1);
      delay = delay == 0 ? o.initial_retry_delay : std::min(delay * 2, o.max_retry_delay);
      double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (spent + delay > o.max_retry_time) {
        self->count(o.dropped, entries);
        spdlog::warn("{}: {} entries dropped after {:.1f} s of failures sending to {}: {}", o.name, entries, spent,
                     request.url, result.status ? "status " + std::to_string(result.status) : result.error);
        break;
      }
      self.reset();
      co_await sleep_for(io, ms(delay));
    }
  }
}

}  // namespace portico::obs
