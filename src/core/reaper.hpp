// Frees retired objects (replaced configuration snapshots) on a low-priority thread of its
// own. A snapshot of a large configuration takes milliseconds to free; without this, whichever
// thread dropped the last reference would pay: a worker (delaying requests) or the control
// thread (delaying the Admin API).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace portico {

class Reaper {
 public:
  Reaper();
  ~Reaper();  // frees what is left, then joins
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Hands over a reference; the object is freed on the reaper's thread once it holds the last one.
  void retire(std::shared_ptr<const void> object);

 private:
  void run();
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<const void>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico
