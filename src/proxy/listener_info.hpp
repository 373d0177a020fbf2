// What a client connection knows of the listener it came in on. The worker holds one per
// listener for its whole life (declared before its io_context, so it outlives every
// connection); connections point to it rather than copy it.
#pragma once

#include <string>

namespace portico::proxy {

struct ListenerInfo {
  int port = 0;
  std::string port_text;  // the same, as the access log's $server_port and the upstream head write it
  bool http2 = false;     // the listener speaks HTTP/2 too (Kong's `http2` flag)
};

}  // namespace portico::proxy
