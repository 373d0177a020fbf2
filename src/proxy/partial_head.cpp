#include "proxy/partial_head.hpp"

namespace portico::proxy {

bool head_worth_parsing(std::string_view data, std::size_t scanned, const http::ParserLimits& limits) {
  if (data.size() > limits.max_request_line) return true;
  // (from the byte before: a CR that ended the earlier bytes is judged by what follows it)
  for (std::size_t i = scanned > 0 ? scanned - 1 : 0; i < data.size(); ++i) {
    if (data[i] == '\n') {
      if (i == 0 || data[i - 1] != '\r') return true;                          // bare LF
      if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') return true;  // the end of the head
    } else if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] != '\n') {
      return true;  // bare CR
    }
  }
  return false;
}

}  // namespace portico::proxy
