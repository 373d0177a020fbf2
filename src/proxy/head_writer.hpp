// Serialises the heads Portico sends: the upstream request (rebuilt from the parsed
// request, never copied from client bytes) and the downstream response.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>

#include "http/header_view.hpp"

namespace portico::proxy {

// Appends text to a reusable std::string without re-allocating in steady state.
class HeadBuilder {
 public:
  void clear() { out_.clear(); }
  std::string_view view() const { return out_; }
  void release() { std::string().swap(out_); }

  HeadBuilder& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  HeadBuilder& field(std::string_view name, std::string_view value) {
    out_.append(name).append(": ").append(value).append("\r\n");
    return *this;
  }
  HeadBuilder& field(std::string_view name, std::uint64_t value);
  HeadBuilder& end() {
    out_.append("\r\n");
    return *this;
  }

 private:
  std::string out_;
};

// True for hop-by-hop fields that a proxy must not forward (RFC 9110 7.6.1), and for
// framing fields that Portico always regenerates.
bool is_hop_by_hop_or_framing(std::string_view name);

// True when `name` is listed in the message's Connection header.
bool named_in_connection(const http::MessageHead& head, std::string_view name);

// What the upstream request carries besides the client's own fields.
struct ForwardingInfo {
  std::string_view method;
  std::string_view upstream_target;  // path + optional "?query"
  std::string_view host_header;      // Host sent upstream
  std::string_view client_ip;        // peer address as text
  std::string_view scheme;           // "http" / "https"
  std::string_view server_port;      // listener port as text
  std::string_view forwarded_prefix; // stripped prefix, empty when none
  std::string_view forwarded_host;   // request host without port
  bool trusted_peer = false;         // keep client-supplied X-Forwarded-*
  http::BodyFraming framing = http::BodyFraming::none;
  std::uint64_t content_length = 0;
};

void build_upstream_request(HeadBuilder& out, const http::RequestHead& request, const ForwardingInfo& info);

}  // namespace portico::proxy
