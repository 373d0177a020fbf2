#include "obs/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "plugin/counters.hpp"

namespace portico::obs {
namespace {
std::atomic<std::uint64_t>& g_dropped = plugin::counter("access_log_lines_dropped");
std::atomic<std::uint64_t>& g_failures = plugin::counter("access_log_write_failures");

constexpr std::size_t kChunk = 16384;                     // a worker's buffer, handed over when full
constexpr std::size_t kMaxQueuedChunks = (64 << 20) / kChunk;  // 64 MiB waiting for the writer

// Only for a chunk that failed to be written: counting every chunk's lines cost more per request
// than rendering them.
std::uint64_t lines_in(const std::string& chunk) {
  return static_cast<std::uint64_t>(std::count(chunk.begin(), chunk.end(), '\n'));
}
}  // namespace

std::shared_ptr<AccessLogSink> AccessLogSink::open(const std::string& target, std::string& error) {
  auto sink = std::shared_ptr<AccessLogSink>(new AccessLogSink());
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

void AccessLogSink::submit(std::string lines, std::uint64_t line_count) {
  if (!writer_->push(std::move(lines))) g_dropped.fetch_add(line_count, std::memory_order_relaxed);
}

void AccessLogSink::write(std::vector<std::string>& chunks) {
  for (const auto& chunk : chunks) {
    if (!write_fully(fd_, chunk)) g_failures.fetch_add(lines_in(chunk), std::memory_order_relaxed);
  }
}

AccessLog::AccessLog(std::shared_ptr<AccessLogSink> sink, std::shared_ptr<const LogFormat> format)
    : sink_(std::move(sink)), format_(std::move(format)), buffer_(sink_ ? kChunk + 4096 : 0) {}

void AccessLog::append(const AccessRecord& r) {
  if (!sink_) return;
  format_->render(buffer_, r);
  ++lines_;
  if (buffer_.size() >= kChunk) flush();
}

void AccessLog::flush() {
  if (!sink_ || buffer_.empty()) return;
  sink_->submit(buffer_.take(), lines_);
  lines_ = 0;
}

}  // namespace portico::obs
