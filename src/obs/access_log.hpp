// Access log: one line per request, in the configured format (obs/log_format.hpp; by
// default nginx's "combined" followed by Portico fields).
//
// Each worker has its own AccessLog buffer (no locking); lines are written to the shared
// file descriptor (opened O_APPEND) when the buffer fills or on the worker's 1 s tick,
// and on shutdown. A write that fails is counted, never retried on the request path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "obs/log_format.hpp"

namespace portico::obs {

// The shared output: a file (or stdout / stderr) opened once by the gateway.
class AccessLogSink {
 public:
  // "-" or "stdout", "stderr", or a path opened for appending. Returns nullptr + error.
  static std::shared_ptr<AccessLogSink> open(const std::string& target, std::string& error);
  ~AccessLogSink();
  bool write(std::string_view bytes);
  // Opens the path again (SIGUSR1, after logrotate moved the file) and swaps the new file in
  // under the same descriptor at once: workers writing meanwhile lose no line. A no-op for
  // stdout / stderr. False with `error` set when the path cannot be opened (the old file stays).
  bool reopen(std::string& error);

 private:
  int fd_ = -1;
  bool owned_ = false;
  std::string path_;
};

class AccessLog {
 public:
  AccessLog(std::shared_ptr<AccessLogSink> sink, std::shared_ptr<const LogFormat> format)
      : sink_(std::move(sink)), format_(std::move(format)) {}
  bool enabled() const { return sink_ != nullptr; }
  void append(const AccessRecord& r);
  void flush();
  std::uint64_t failed_writes() const { return failed_; }

 private:
  std::shared_ptr<AccessLogSink> sink_;
  std::shared_ptr<const LogFormat> format_;
  std::string buffer_;
  std::uint64_t failed_ = 0;
};

}  // namespace portico::obs
