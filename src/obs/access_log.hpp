// Access log: one line per request, in nginx's "combined" format followed by Portico
// fields (route, upstream address, upstream status, latencies).
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

struct AccessRecord {
  std::string_view client_ip;
  std::string_view method;
  std::string_view target;
  int version_minor = 1;
  int status = 0;
  std::uint64_t bytes_sent = 0;
  std::string_view referer;
  std::string_view user_agent;
  std::string_view route;
  std::string_view upstream;      // "ip:port" or empty
  int upstream_status = 0;
  double request_time = 0;        // seconds, whole request
  double upstream_time = 0;       // seconds, until the upstream response head
};

class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<AccessLogSink> sink) : sink_(std::move(sink)) {}
  bool enabled() const { return sink_ != nullptr; }
  void append(const AccessRecord& r);
  void flush();
  std::uint64_t failed_writes() const { return failed_; }

 private:
  std::shared_ptr<AccessLogSink> sink_;
  std::string buffer_;
  std::uint64_t failed_ = 0;
  std::time_t cached_second_ = 0;
  std::string cached_time_;
};

}  // namespace portico::obs
