#include "obs/background_writer.hpp"

#include <unistd.h>

#include <cerrno>

namespace portico::obs {

bool write_fully(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

BackgroundWriter::BackgroundWriter(std::size_t max_entries, std::size_t batch, std::chrono::milliseconds interval,
                                   WriteFn write)
    : queue_(max_entries), batch_(batch), interval_(interval), write_(std::move(write)) {
  thread_ = std::thread([this] { run(); });
}

void BackgroundWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BackgroundWriter::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    drain();
    lock.lock();
  }
}

void BackgroundWriter::drain() {
  for (;;) {
    auto entries = queue_.take(batch_);
    if (entries.empty()) return;
    write_(entries);
  }
}

}  // namespace portico::obs
