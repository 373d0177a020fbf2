// Delivers a log or trace plugin's entries to an HTTP endpoint (Kong's queue: http-log's
// records, opentelemetry's spans). The workers push serialized entries into a bounded
// obs::EntryQueue (a full queue drops and counts); one coroutine on the control thread takes
// them in batches (max_batch_size, a partial batch after max_coalescing_delay), makes one
// request body of each (`payload`), and sends it, retrying a failed batch with exponential
// backoff (initial_retry_delay doubling up to max_retry_delay) until max_retry_time, then
// dropping it (counted). One batch in flight at a time (Kong's concurrency_limit 1). Nothing
// here runs on a worker.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "obs/entry_queue.hpp"

namespace portico::obs {

struct BatchSenderOptions {
  std::string name;  // for the log: "http-log", "opentelemetry"
  std::string endpoint;
  std::string method = "POST";
  std::string header_lines;  // complete lines, Content-Type included
  int timeout_ms = 10000;
  std::size_t max_batch_size = 1;
  double max_coalescing_delay = 1;  // seconds
  std::size_t max_entries = 10000;
  double max_retry_time = 60, initial_retry_delay = 0.01, max_retry_delay = 60;  // seconds
  // One request body from a batch (the entries may be moved from).
  std::function<std::string(std::vector<std::string>& batch)> payload;
  // Whether the endpoint took the batch (http-log: any 2xx; Kong's OTLP exporter: 200 only).
  std::function<bool(int status)> accepted = [](int status) { return status >= 200 && status < 300; };
  // Counted in entries (sent, dropped) and failed requests; process-wide counters.
  std::atomic<std::uint64_t>* sent = nullptr;
  std::atomic<std::uint64_t>* dropped = nullptr;
  std::atomic<std::uint64_t>* failures = nullptr;
};

class BatchSender : public std::enable_shared_from_this<BatchSender> {
 public:
  // Starts the delivery loop on `control` (none when null: unit tests; entries then only
  // queue). The loop ends when the last owner lets go of the sender.
  static std::shared_ptr<BatchSender> start(boost::asio::io_context* control, BatchSenderOptions options);
  // Any thread: false (counted as dropped) when the queue is full.
  bool push(std::string entry);
  std::size_t queued() const { return queue_.size(); }

 private:
  explicit BatchSender(BatchSenderOptions options) : options_(std::move(options)), queue_(options_.max_entries) {}
  static boost::asio::awaitable<void> deliver(std::weak_ptr<BatchSender> weak, boost::asio::io_context& io);
  void count(std::atomic<std::uint64_t>* counter, std::uint64_t n) const {
    if (counter != nullptr) counter->fetch_add(n, std::memory_order_relaxed);
  }

  const BatchSenderOptions options_;
  EntryQueue queue_;
};

}  // namespace portico::obs
