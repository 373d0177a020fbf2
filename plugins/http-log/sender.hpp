// Delivers an http-log entry's queue: the workers queue serialized records (obs::EntryQueue,
// bounded: a full queue drops and counts), and one coroutine on the control thread sends
// them in batches (Kong's queue: max_batch_size, max_coalescing_delay) to the endpoint,
// retrying a failed batch with exponential backoff (initial_retry_delay doubling up to
// max_retry_delay) until max_retry_time, then dropping it (counted). One batch in flight at a
// time (Kong's concurrency_limit 1). Nothing here runs on a worker.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "net/http_fetch.hpp"
#include "obs/entry_queue.hpp"

namespace portico::plugins::http_log {

struct SenderOptions {
  std::string endpoint;
  std::string method = "POST";
  std::string content_type = "application/json";
  std::string header_lines;  // the entry's `headers`, as complete lines
  int timeout_ms = 10000;
  std::size_t max_batch_size = 1;
  double max_coalescing_delay = 1;  // seconds
  std::size_t max_entries = 10000;
  double max_retry_time = 60, initial_retry_delay = 0.01, max_retry_delay = 60;  // seconds
};

class Sender : public std::enable_shared_from_this<Sender> {
 public:
  // Starts the delivery loop on `control` (none when null: unit tests; entries then only queue).
  static std::shared_ptr<Sender> start(boost::asio::io_context* control, SenderOptions options);
  // A worker: false (counted in http_log_entries_dropped) when the queue is full.
  bool push(std::string record);

 private:
  explicit Sender(SenderOptions options) : options_(std::move(options)), queue_(options_.max_entries) {}
  static boost::asio::awaitable<void> deliver(std::weak_ptr<Sender> weak, boost::asio::io_context& io);
  std::string payload(std::vector<std::string>& batch) const;

  const SenderOptions options_;
  obs::EntryQueue queue_;
};

}  // namespace portico::plugins::http_log
