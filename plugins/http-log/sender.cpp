#include "plugins/http-log/sender.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "plugin/counters.hpp"

namespace portico::plugins::http_log {
namespace asio = boost::asio;
namespace {

std::atomic<std::uint64_t>& g_sent = plugin::counter("http_log_entries_sent");
std::atomic<std::uint64_t>& g_dropped = plugin::counter("http_log_entries_dropped");
std::atomic<std::uint64_t>& g_failures = plugin::counter("http_log_send_failures");

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer timer(io, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

std::shared_ptr<Sender> Sender::start(asio::io_context* control, SenderOptions options) {
  auto sender = std::shared_ptr<Sender>(new Sender(std::move(options)));
  if (control != nullptr) {
    asio::co_spawn(*control, deliver(sender, *control), asio::detached);
  }
  return sender;
}

bool Sender::push(std::string record) {
  if (queue_.push(std::move(record))) return true;
  g_dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

std::string Sender::payload(std::vector<std::string>& batch) const {
  if (options_.max_batch_size == 1) return std::move(batch.front());
  std::string body = "[";  // Kong sends a JSON array once batches may hold more than one
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) body += ',';
    body += batch[i];
  }
  body += ']';
  return body;
}

asio::awaitable<void> Sender::deliver(std::weak_ptr<Sender> weak, asio::io_context& io) {
  for (;;) {
    std::vector<std::string> batch;
    std::string body;
    net::OutgoingRequest request;
    net::FetchOptions fetch;
    double initial_delay = 0, max_delay = 0, max_retry_time = 0;
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
      batch = self->queue_.take(self->options_.max_batch_size);
      if (batch.empty()) continue;
      request.method = self->options_.method;
      request.url = self->options_.endpoint;
      request.header_lines = "Content-Type: " + self->options_.content_type + "\r\n" + self->options_.header_lines;
      request.body = self->payload(batch);
      fetch.timeout = std::chrono::milliseconds(self->options_.timeout_ms);
      fetch.max_body = 64 * 1024;
      initial_delay = self->options_.initial_retry_delay;
      max_delay = self->options_.max_retry_delay;
      max_retry_time = self->options_.max_retry_time;
    }
    // Send, retrying with exponential backoff until max_retry_time.
    auto started = std::chrono::steady_clock::now();
    double delay = initial_delay;
    for (;;) {
      net::FetchResult result = co_await net::http_send(io, request, fetch);
      if (result.status >= 200 && result.status < 300) {
        g_sent.fetch_add(batch.size(), std::memory_order_relaxed);
        break;
      }
      g_failures.fetch_add(1, std::memory_order_relaxed);
      double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (spent + delay > max_retry_time) {
        g_dropped.fetch_add(batch.size(), std::memory_order_relaxed);
        spdlog::warn("http-log: {} entries dropped after {:.1f} s of failures sending to {}: {}", batch.size(), spent,
                     request.url, result.status ? "status " + std::to_string(result.status) : result.error);
        break;
      }
      co_await sleep_for(io, ms(delay));
      delay = std::min(delay * 2, max_delay);
      if (weak.expired()) co_return;
    }
  }
}

}  // namespace portico::plugins::http_log
