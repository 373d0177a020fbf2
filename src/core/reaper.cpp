#include "core/reaper.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace portico {

Reaper::Reaper() : thread_([this] { run(); }) {}

Reaper::~Reaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Reaper::retire(std::shared_ptr<const void> object) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(object));
  }
  wake_.notify_one();
}

void Reaper::run() {
  // Lowest priority for this thread only (Linux: nice applies per thread id).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    std::vector<std::shared_ptr<const void>> batch;
    batch.swap(queue_);
    lock.unlock();
    batch.clear();  // frees, unless a worker still holds one (then that worker frees it later)
    lock.lock();
    if (stopping_ && queue_.empty()) return;
  }
}

}  // namespace portico
