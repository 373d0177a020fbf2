#include "obs/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace portico::obs {

std::shared_ptr<AccessLogSink> AccessLogSink::open(const std::string& target, std::string& error) {
  auto sink = std::shared_ptr<AccessLogSink>(new AccessLogSink());
  if (target == "-" || target == "stdout" || target == "stderr") {
    sink->fd_ = target == "stderr" ? 2 : 1;
    return sink;
  }
  sink->fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (sink->fd_ < 0) {
    error = "cannot open access log '" + target + "': " + std::strerror(errno);
    return nullptr;
  }
  sink->owned_ = true;
  sink->path_ = target;
  return sink;
}

bool AccessLogSink::reopen(std::string& error) {
  if (!owned_) return true;
  int fresh = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fresh < 0) {
    error = "cannot reopen access log '" + path_ + "': " + std::strerror(errno);
    return false;
  }
  // dup3 replaces fd_'s file atomically: a write() on fd_ goes to the old or the new file, whole.
  bool swapped = ::dup3(fresh, fd_, O_CLOEXEC) >= 0;
  if (!swapped) error = "cannot reopen access log '" + path_ + "': " + std::strerror(errno);
  ::close(fresh);
  return swapped;
}

AccessLogSink::~AccessLogSink() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

bool AccessLogSink::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

namespace {
void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  if (s.empty()) {
    out += '-';
  } else {
    for (char c : s) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
}
}  // namespace

void AccessLog::append(const AccessRecord& r) {
  if (!sink_) return;
  std::time_t now = std::time(nullptr);
  if (now != cached_second_) {
    cached_second_ = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
    cached_time_ = buf;
  }
  char nums[160];
  buffer_.append(r.client_ip).append(" - - ").append(cached_time_).append(" \"");
  buffer_.append(r.method).append(" ").append(r.target).append(r.version_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
  std::snprintf(nums, sizeof nums, "%d %llu ", r.status, static_cast<unsigned long long>(r.bytes_sent));
  buffer_.append(nums);
  append_quoted(buffer_, r.referer);
  buffer_ += ' ';
  append_quoted(buffer_, r.user_agent);
  buffer_.append(" route=").append(r.route.empty() ? "-" : r.route);
  buffer_.append(" upstream=").append(r.upstream.empty() ? "-" : r.upstream);
  std::snprintf(nums, sizeof nums, " upstream_status=%d request_time=%.3f upstream_time=%.3f\n", r.upstream_status,
                r.request_time, r.upstream_time);
  buffer_.append(nums);
  if (buffer_.size() >= 16384) flush();
}

void AccessLog::flush() {
  if (!sink_ || buffer_.empty()) return;
  if (!sink_->write(buffer_)) ++failed_;
  buffer_.clear();
}

}  // namespace portico::obs
