#include "plugins/file-log/file_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "plugin/counters.hpp"

namespace portico::plugins::file_log {
namespace {
std::atomic<std::uint64_t>& g_write_failures = plugin::counter("file_log_write_failures");
}  // namespace

FileSink::FileSink(std::string path, bool reopen)
    : path_(std::move(path)),
      reopen_(reopen),
      writer_(kMaxQueued, 4096, std::chrono::seconds(1), [this](std::vector<std::string>& lines) { write(lines); }) {}

FileSink::~FileSink() {
  writer_.stop();  // writes what is queued
  if (fd_ >= 0) ::close(fd_);
}

bool FileSink::ensure_open() {
  if (fd_ >= 0 && !reopen_) {
    // Still the file at `path`? logrotate moves it away; the next lines go to a new one.
    struct stat now {};
    if (::stat(path_.c_str(), &now) == 0 && now.st_ino == inode_ && now.st_dev == device_) return true;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    spdlog::error("file-log: cannot open '{}': {}", path_, std::strerror(errno));
    return false;
  }
  struct stat opened {};
  if (::fstat(fd_, &opened) == 0) {
    inode_ = opened.st_ino;
    device_ = opened.st_dev;
  }
  return true;
}

void FileSink::write(std::vector<std::string>& lines) {
  std::string block;
  for (auto& line : lines) block.append(line).push_back('\n');
  if (!ensure_open()) {
    g_write_failures.fetch_add(lines.size(), std::memory_order_relaxed);
    return;
  }
  if (!obs::write_fully(fd_, block)) {
    g_write_failures.fetch_add(lines.size(), std::memory_order_relaxed);
    spdlog::error("file-log: cannot write '{}': {}", path_, std::strerror(errno));
  }
}

}  // namespace portico::plugins::file_log
