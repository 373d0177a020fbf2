#include "plugin/queue_config.hpp"

namespace portico::plugin {

const schema::Record<QueueConfig>& queue_record() {
  using Q = QueueConfig;
  static const auto record = schema::Record<Q>()
                                 .field("max_batch_size", &Q::max_batch_size, {.min = 1, .max = 1000000})
                                 .field("max_coalescing_delay", &Q::max_coalescing_delay, {.min = 0, .max = 3600})
                                 .field("max_entries", &Q::max_entries, {.min = 1, .max = 1000000})
                                 .field("max_bytes", &Q::max_bytes, {.nullable = true})
                                 .field("max_retry_time", &Q::max_retry_time)
                                 .field("initial_retry_delay", &Q::initial_retry_delay, {.min = 0.001, .max = 1000000})
                                 .field("max_retry_delay", &Q::max_retry_delay, {.min = 0.001, .max = 1000000})
                                 .field("concurrency_limit", &Q::concurrency_limit, {.min = -1, .max = 1});
  return record;
}

void check_queue(const QueueConfig& queue, schema::Errors& errors) {
  if (queue.concurrency_limit == 0) errors.push_back({"queue.concurrency_limit", "expected one of: -1, 1"});
}

void apply_queue(const QueueConfig& queue, obs::BatchSenderOptions& o) {
  o.max_batch_size = static_cast<std::size_t>(queue.max_batch_size);
  o.max_coalescing_delay = queue.max_coalescing_delay;
  o.max_entries = static_cast<std::size_t>(queue.max_entries);
  o.max_retry_time = queue.max_retry_time;
  o.initial_retry_delay = queue.initial_retry_delay;
  o.max_retry_delay = queue.max_retry_delay;
}

}  // namespace portico::plugin
