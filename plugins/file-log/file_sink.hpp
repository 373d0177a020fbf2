// The file a file-log entry writes to: lines queued by the workers (obs::EntryQueue) and
// written by one thread of its own every second, so a slow disk never holds a worker. The
// file is reopened when it was moved or deleted (logrotate; no signal needed), or on every
// write with `reopen` (Kong's field). One sink per path, shared by every entry and reload
// that names it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "obs/background_writer.hpp"

namespace portico::plugins::file_log {

class FileSink {
 public:
  static constexpr std::size_t kMaxQueued = 100000;  // lines waiting for the writer; more are dropped

  FileSink(std::string path, bool reopen);
  ~FileSink();  // writes what is queued, then stops the thread
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Any worker: queues one line (a newline is added). False when the queue is full.
  bool push(std::string line) { return writer_.push(std::move(line)); }
  std::uint64_t dropped() const { return writer_.dropped(); }

 private:
  void write(std::vector<std::string>& lines);  // the writer thread
  bool ensure_open();

  const std::string path_;
  const bool reopen_;
  int fd_ = -1;
  unsigned long inode_ = 0, device_ = 0;
  obs::BackgroundWriter writer_;  // last: its thread uses the members above
};

}  // namespace portico::plugins::file_log
