// A scripted HTTP/1.1 upstream for integration tests. Runs on its own threads with
// blocking sockets and a deliberately simple, independent parser (it must not share
// code with what it tests). Behaviour is chosen by the request path:
//   /status/NNN     answer with status NNN
//   /chunked/N      chunked response body of N chunks ("chunk-<i>\n")
//   /slow/MS        wait MS milliseconds, then answer
//   /hang           never answer (until the connection closes or stop())
//   /close          body delimited by closing the connection (no Content-Length)
//   /bytes/N        N bytes of 'x'
//   /bad-framing    response with both Content-Length and Transfer-Encoding
//   /connection-close  answers with "Connection: close" and closes
//   /close-after    answers as keep-alive, then silently closes the connection after 30 ms
//   /no-read        reads neither the body nor answers (exact target; for write timeouts)
//   anything else   200 with a JSON echo of the request
// Overrides set while running apply to every request, before the path is looked at:
// answer_all(status), delay_all(ms), hang_all(true).
// Every request is recorded (method, target, headers, body).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  int connection_id = 0;
  std::string header(const std::string& lower_name) const;   // first value or ""
  int count(const std::string& lower_name) const;
};

class FixtureUpstream {
 public:
  // `port` 0 picks a free port; a given port lets a test restart a "crashed" upstream.
  explicit FixtureUpstream(std::string name = "fixture", int port = 0);
  ~FixtureUpstream();
  int port() const { return port_; }
  void stop();

  void answer_all(int status) { forced_status_ = status; }  // 0: off
  void delay_all(int ms) { delay_ms_ = ms; }
  void hang_all(bool on) { hang_all_ = on; }

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  int connections_accepted() const { return connections_.load(); }
  void clear();

 private:
  void accept_loop();
  void serve(int fd, int connection_id);
  std::string name_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> forced_status_{0};
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> hang_all_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<int> open_fds_;
  std::vector<RecordedRequest> requests_;
};

// A listening socket whose accept queue is full and never drained: connecting to it
// hangs (the kernel drops the SYNs), which is how connect timeouts are tested.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace portico::test
