// Blocking test clients: raw bytes in, raw bytes out, plus a small response reader.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace portico::test {

struct Response {
  int status = 0;
  std::string head;                           // status line + fields
  std::map<std::string, std::string> fields;  // lowercased name -> last value
  std::string body;
  bool complete = false;
  std::string field(const std::string& lower_name) const {
    auto it = fields.find(lower_name);
    return it == fields.end() ? "" : it->second;
  }
  int count(const std::string& lower_name) const;  // occurrences in head
};

// A connected blocking TCP socket to 127.0.0.1:port with a receive timeout.
class RawConnection {
 public:
  explicit RawConnection(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(const std::string& bytes);
  // Reads one response (Content-Length, chunked or until close). `head_request` for HEAD.
  Response read_response(bool head_request = false);
  // Reads until the peer closes (or the timeout); returns everything received.
  std::string read_all();
  // True when the peer has closed: a read returns EOF (or reset) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds wait = std::chrono::milliseconds(2000));
  void shutdown_write();
  int fd() const { return fd_; }

 private:
  bool fill();
  int fd_ = -1;
  std::string buf_;
};

// Sends all of `data` on a blocking socket; false when the peer is gone.
bool send_all(int fd, const std::string& data);

// Parses a whole response out of `raw` (for raw_exchange results).
Response parse_response(const std::string& raw);

// Sends `bytes` on a fresh connection and returns all bytes received until close/timeout.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace portico::test
