#include "http/h2_messages.hpp"

#include <algorithm>

namespace portico::http {

void H2RequestHead::reset() {
  bytes_ = 0;
  too_large_ = conflicting_host_ = has_content_length_ = false;
  for (std::string* s : {&method_, &path_, &authority_, &host_, &cookie_, &protocol_, &fields_}) s->clear();
}

void H2RequestHead::release_large_buffers(std::size_t keep) {
  for (std::string* s : {&method_, &path_, &authority_, &host_, &cookie_, &protocol_, &fields_}) {
    if (s->capacity() > keep) std::string().swap(*s);
  }
}

void H2RequestHead::keep(std::size_t bytes) {
  bytes_ += bytes;
  if (bytes_ > max_bytes_) too_large_ = true;
}

void H2RequestHead::add(std::string_view name, std::string_view value) {
  keep(name.size() + value.size() + 4);
  if (too_large_) return;
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") method_ = value;
    else if (name == ":path") path_ = value;
    else if (name == ":authority") authority_ = value;
    else if (name == ":protocol") protocol_ = value;  // (nghttp2 allows it on CONNECT only)
    // :scheme is the client's view of the URL; the gateway knows how the request came.
    return;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_ += "; ";
    cookie_ += value;
    return;
  }
  if (name == "te") return;  // only "trailers" is allowed (nghttp2 checks), and only hop-by-hop
  // A WebSocket's key is the gateway's, and its DATA are the tunnel's, never a body.
  if ((name == "sec-websocket-key" || name == "content-length") && websocket()) return;
  if (name == "host") {
    // (Pseudo-header fields come first, so :authority is known by now.)
    if (!authority_.empty() && !iequals(value, authority_)) conflicting_host_ = true;
    host_ = value;
    return;
  }
  if (name == "content-length") has_content_length_ = true;
  fields_.append(name).append(": ").append(value).append("\r\n");
}

bool H2RequestHead::websocket() const { return method_ == "CONNECT" && iequals(protocol_, "websocket"); }

std::string H2RequestHead::finish(bool body_follows, bool& chunked, std::string_view websocket_key) const {
  bool websocket = this->websocket();
  chunked = body_follows && !has_content_length_ && !websocket;
  std::string head;
  head.reserve(method_.size() + path_.size() + authority_.size() + fields_.size() + cookie_.size() + 128);
  if (websocket) {
    head.append("GET ").append(path_).append(" HTTP/1.1\r\n");
  } else {
    // CONNECT (no :path) names its authority as the target, as HTTP/1.1's authority-form.
    head.append(method_).append(" ").append(path_.empty() ? authority_ : path_).append(" HTTP/1.1\r\n");
  }
  std::string_view host = authority_.empty() ? std::string_view(host_) : std::string_view(authority_);
  if (!host.empty()) head.append("Host: ").append(host).append("\r\n");
  if (websocket) {
    head.append("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ").append(websocket_key).append("\r\n");
  }
  head.append(fields_);
  if (!cookie_.empty()) head.append("Cookie: ").append(cookie_).append("\r\n");
  if (chunked) head.append("Transfer-Encoding: chunked\r\n");
  head.append("\r\n");
  return head;
}

void H2ResponseFields::build(const ResponseHead& head) {
  storage_.clear();
  fields_.clear();
  // Only the status and the lowercased names are stored; values view the head's own bytes.
  std::size_t total = 3;
  for (const auto& h : head.headers) total += h.name.size();
  storage_.reserve(total);  // the views below point into it: it must not move
  int status = head.status;
  storage_ += static_cast<char>('0' + status / 100 % 10);
  storage_ += static_cast<char>('0' + status / 10 % 10);
  storage_ += static_cast<char>('0' + status % 10);
  fields_.push_back({":status", std::string_view(storage_).substr(0, 3)});
  for (const auto& h : head.headers) {
    if (is_connection_specific(h.kind) || named_in_connection(head, h.name)) continue;
    std::size_t at = storage_.size();
    for (char c : h.name) storage_ += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    fields_.push_back({std::string_view(storage_).substr(at, h.name.size()), h.value});
  }
}

void H2ResponseFields::build_trailers(std::string_view lines) {
  storage_.clear();
  fields_.clear();
  storage_.reserve(lines.size());  // (names only: the views below point into it)
  while (!lines.empty()) {
    std::size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (is_connection_specific(classify_field(name))) continue;
    std::size_t at = storage_.size();
    for (char c : name) storage_ += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    fields_.push_back({std::string_view(storage_).substr(at, name.size()), value});
  }
}

void H2ResponseFields::drop(std::string_view name) {
  std::erase_if(fields_, [&](const H2Field& f) { return f.name == name; });
}

void H2ResponseFields::release_large_buffers(std::size_t keep) {
  if (storage_.capacity() > keep) std::string().swap(storage_);
  if (fields_.capacity() * sizeof(H2Field) > keep) std::vector<H2Field>().swap(fields_);
}

bool starts_h2_preface(std::string_view first_bytes) {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  std::size_t n = std::min(first_bytes.size(), kPreface.size());
  return n > 0 && first_bytes.substr(0, n) == kPreface.substr(0, n);
}

}  // namespace portico::http
