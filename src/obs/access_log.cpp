#include "obs/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "plugin/counters.hpp"

namespace portico::obs {
namespace {
std::atomic<std::uint64_t>& g_dropped = plugin::counter("access_log_lines_dropped");
std::atomic<std::uint64_t>& g_failures = plugin::counter("access_log_write_failures");

constexpr std::size_t kChunk = 16384;                     // a worker's buffer, handed over when full
constexpr std::size_t kMaxQueuedChunks = (64 << 20) / kChunk;  // 64 MiB waiting for the writer

}  // namespace

std::shared_ptr<AccessLogSink> AccessLogSink::open(const std::string& target, std::shared_ptr<const LogFormat> format,
                                                   std::string& error) {
  auto sink = std::shared_ptr<AccessLogSink>(new AccessLogSink());
  sink->format_ = std::move(format);
  if (target == "-" || target == "stdout" || target == "stderr") {
    sink->fd_ = target == "stderr" ? 2 : 1;
  } else {
    sink->fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sink->fd_ < 0) {
      error = "cannot open access log '" + target + "': " + std::strerror(errno);
      return nullptr;
    }
    sink->owned_ = true;
    sink->path_ = target;
  }
  auto* raw = sink.get();
  sink->writer_ = std::make_unique<BackgroundWriter>(kMaxQueuedChunks, 64, std::chrono::milliseconds(100),
                                                     [raw](std::vector<std::string>& chunks) { raw->write(chunks); });
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
  if (writer_) writer_->stop();  // writes what is queued
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void AccessLogSink::submit(std::string records, std::uint64_t count) {
  if (!writer_->push(std::move(records))) g_dropped.fetch_add(count, std::memory_order_relaxed);
}

void AccessLogSink::write(std::vector<std::string>& chunks) {
  for (const auto& chunk : chunks) {
    lines_.clear();
    std::size_t count = format_->render_captured(lines_, chunk);
    if (!write_fully(fd_, lines_.view())) g_failures.fetch_add(count, std::memory_order_relaxed);
  }
}

AccessLog::AccessLog(std::shared_ptr<AccessLogSink> sink)
    : sink_(std::move(sink)), buffer_(sink_ ? kChunk + 4096 : 0) {}

void AccessLog::append(const AccessRecord& r) {
  if (!sink_) return;
  sink_->format().capture(buffer_, r);
  ++records_;
  if (buffer_.size() >= kChunk) flush();
}

void AccessLog::flush() {
  if (!sink_ || buffer_.empty()) return;
  sink_->submit(buffer_.take(), records_);
  records_ = 0;
}

}  // namespace portico::obs
