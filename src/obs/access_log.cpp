#include "obs/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

void AccessLog::append(const AccessRecord& r) {
  if (!sink_) return;
  format_->render(buffer_, r);
  if (buffer_.size() >= 16384) flush();
}

void AccessLog::flush() {
  if (!sink_ || buffer_.empty()) return;
  if (!sink_->write(buffer_)) ++failed_;
  buffer_.clear();
}

}  // namespace portico::obs
