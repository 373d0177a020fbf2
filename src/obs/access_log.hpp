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

// The shared output: a file (or stdout) opened once by the gateway.
class AccessLogSink {
 public:
  // "-" is stdout; anything else is a path opened for appending. Returns nullptr + error.
  static std::shared_ptr<AccessLogSink> open(const std::string& target, std::string& error);
  ~AccessLogSink();
  bool write(std::string_view bytes);

 private:
  int fd_ = -1;
  bool owned_ = false;
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
