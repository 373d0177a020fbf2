// A thread of its own that writes what workers queue: workers push entries into a bounded
// obs::EntryQueue (never waiting: a full queue drops the entry and counts it), and the thread
// hands them to `write` every `interval`, and once more when stopped. For files and pipes,
// whose write() can block for long (dirty-page throttling on a slow disk, a stalled stdout
// reader): only this thread ever waits on them, never a worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "obs/entry_queue.hpp"

namespace portico::obs {

// write() until all of `bytes` is written (EINTR retried); false on an error (errno set).
bool write_fully(int fd, std::string_view bytes);

class BackgroundWriter {
 public:
  // `write` runs on the writer thread with up to `batch` entries at a time, oldest first.
  using WriteFn = std::function<void(std::vector<std::string>& entries)>;
  BackgroundWriter(std::size_t max_entries, std::size_t batch, std::chrono::milliseconds interval, WriteFn write);
  ~BackgroundWriter() { stop(); }
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // Any thread: false (counted in dropped()) when the queue is full.
  bool push(std::string entry) { return queue_.push(std::move(entry)); }
  std::uint64_t dropped() const { return queue_.dropped(); }
  // Writes what is queued and ends the thread (idempotent). Owners whose `write` uses their
  // own members call it first thing in their destructor.
  void stop();

 private:
  void run();
  void drain();

  EntryQueue queue_;
  const std::size_t batch_;
  const std::chrono::milliseconds interval_;
  const WriteFn write_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above is set
};

}  // namespace portico::obs
