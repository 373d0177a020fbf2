// Access log: one line per request, in the configured format (obs/log_format.hpp; by
// default nginx's "combined" followed by Portico fields).
//
// Each worker has its own AccessLog buffer (no locking) of captured records (the values a
// line shows, raw: LogFormat::capture); when it fills (16 KiB) or on the worker's 1 s tick,
// and on shutdown, the buffer is handed whole to the sink, whose own thread turns the records
// into lines (LogFormat::render_captured: escaping, numbers, times) and writes them to the
// file (or stdout / stderr): the worker does the least per request, and a disk that throttles
// writes or a stalled pipe holds that thread, never a worker. The sink queues at most 64 MiB of records;
// beyond, buffers are dropped and their lines counted (access_log_lines_dropped), as a
// write that fails is (access_log_write_failures).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <vector>

#include "obs/background_writer.hpp"
#include "obs/log_format.hpp"

namespace portico::obs {

// The shared output: a file (or stdout / stderr) opened once by the gateway.
class AccessLogSink {
 public:
  // "-" or "stdout", "stderr", or a path opened for appending; lines in `format` (the one
  // the workers capture records for). Returns nullptr + error.
  static std::shared_ptr<AccessLogSink> open(const std::string& target, std::shared_ptr<const LogFormat> format,
                                             std::string& error);
  ~AccessLogSink();  // writes what is queued
  // A worker: queues `count` records (LogFormat::capture) for the writer thread; never waits.
  void submit(std::string records, std::uint64_t count);
  // The format records are captured in for this sink (its writer renders them in it).
  const LogFormat& format() const { return *format_; }
  // Opens the path again (SIGUSR1, after logrotate moved the file) and swaps the new file in
  // under the same descriptor at once: workers writing meanwhile lose no line. A no-op for
  // stdout / stderr. False with `error` set when the path cannot be opened (the old file stays).
  bool reopen(std::string& error);

 private:
  AccessLogSink() = default;
  void write(std::vector<std::string>& chunks);  // the writer thread

  std::shared_ptr<const LogFormat> format_;
  LineBuffer lines_;  // the writer thread's: one chunk's lines
  int fd_ = -1;
  bool owned_ = false;
  std::string path_;
  std::unique_ptr<BackgroundWriter> writer_;  // started once fd_ is open
};

class AccessLog {
 public:
  // Records are captured in the sink's format; no sink: the log is off.
  explicit AccessLog(std::shared_ptr<AccessLogSink> sink);
  bool enabled() const { return sink_ != nullptr; }
  void append(const AccessRecord& r);
  void flush();

 private:
  std::shared_ptr<AccessLogSink> sink_;
  LineBuffer buffer_;
  std::uint64_t records_ = 0;  // in buffer_
};

}  // namespace portico::obs
