// Kong's `queue` record (kong/tools/queue_schema.lua), shared by the plugins that deliver
// entries in the background (http-log, opentelemetry): its fields, Kong's defaults and bounds,
// and how it sets up an obs::BatchSender.
#pragma once

#include "obs/batch_sender.hpp"
#include "schema/record.hpp"

namespace portico::plugin {

struct QueueConfig {
  int max_batch_size = 1;
  double max_coalescing_delay = 1;  // seconds
  int max_entries = 10000;
  int max_bytes = -1;  // null: unbounded (the entry count bounds the queue)
  double max_retry_time = 60;
  double initial_retry_delay = 0.01;
  double max_retry_delay = 60;
  int concurrency_limit = 1;  // Kong's -1 or 1; Portico always sends one batch at a time
};

const schema::Record<QueueConfig>& queue_record();
// A config check: the errors Kong's queue record reports that the field rules cannot.
void check_queue(const QueueConfig& queue, schema::Errors& errors);
// The batching, bounds and retry timing of `queue` onto a sender's options.
void apply_queue(const QueueConfig& queue, obs::BatchSenderOptions& options);

}  // namespace portico::plugin
