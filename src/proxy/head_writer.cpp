#include "proxy/head_writer.hpp"

#include <charconv>

namespace portico::proxy {

HeadBuilder& HeadBuilder::number(std::uint64_t value) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, value);
  return raw(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
}

HeadBuilder& HeadBuilder::field(std::string_view name, std::uint64_t value) {
  return raw(name).raw(": ").number(value).raw("\r\n");
}

bool is_hop_by_hop_or_framing(std::string_view n) {
  using http::iequals;
  switch (n.size()) {
    case 2: return iequals(n, "te");
    case 7: return iequals(n, "trailer") || iequals(n, "upgrade");
    case 10: return iequals(n, "connection") || iequals(n, "keep-alive");
    case 14: return iequals(n, "content-length");
    case 16: return iequals(n, "proxy-connection");
    case 17: return iequals(n, "transfer-encoding");
    default: return false;
  }
}

bool named_in_connection(const http::MessageHead& head, std::string_view name) {
  for (auto token : head.connection_tokens) {
    if (http::iequals(token, name)) return true;
  }
  return false;
}

namespace {

bool is_forwarding_field(std::string_view n) {
  using http::iequals;
  if (n.size() < 9) return false;
  if (n.size() == 9) return iequals(n, "x-real-ip");
  if (n.size() < 11 || !iequals(n.substr(0, 11), "x-forwarded")) return false;
  return true;
}

}  // namespace

void build_upstream_request(HeadBuilder& out, const http::RequestHead& req, const ForwardingInfo& info) {
  out.clear();
  out.raw(info.method).raw(" ").raw(info.upstream_target).raw(" HTTP/1.1\r\n");
  out.field("Host", info.host_header);
  std::string_view client_xff, client_proto, client_host, client_port, client_prefix, via;
  for (const auto& h : req.headers) {
    const auto& n = h.name;
    if (is_hop_by_hop_or_framing(n)) continue;
    if ((n.size() == 4 && http::iequals(n, "host")) || (n.size() == 6 && http::iequals(n, "expect"))) continue;
    if (is_forwarding_field(n)) {
      if (info.trusted_peer) {
        if (http::iequals(n, "x-forwarded-for")) client_xff = h.value;
        else if (http::iequals(n, "x-forwarded-proto")) client_proto = h.value;
        else if (http::iequals(n, "x-forwarded-host")) client_host = h.value;
        else if (http::iequals(n, "x-forwarded-port")) client_port = h.value;
        else if (http::iequals(n, "x-forwarded-prefix")) client_prefix = h.value;
      }
      continue;
    }
    if (n.size() == 3 && http::iequals(n, "via")) {
      via = h.value;
      continue;
    }
    if (!req.connection_tokens.empty() && named_in_connection(req, n)) continue;
    out.field(n, h.value);
  }
  if (!client_xff.empty()) {
    out.raw("X-Forwarded-For: ").raw(client_xff).raw(", ").raw(info.client_ip).raw("\r\n");
  } else {
    out.field("X-Forwarded-For", info.client_ip);
  }
  out.field("X-Forwarded-Proto", client_proto.empty() ? info.scheme : client_proto);
  out.field("X-Forwarded-Host", client_host.empty() ? info.forwarded_host : client_host);
  out.field("X-Forwarded-Port", client_port.empty() ? info.server_port : client_port);
  if (!client_prefix.empty()) out.field("X-Forwarded-Prefix", client_prefix);
  else if (!info.forwarded_prefix.empty()) out.field("X-Forwarded-Prefix", info.forwarded_prefix);
  out.field("X-Real-IP", info.client_ip);
  if (via.empty()) {
    out.field("Via", "1.1 portico");
  } else {
    out.raw("Via: ").raw(via).raw(", 1.1 portico\r\n");
  }
  if (info.framing == http::BodyFraming::chunked) {
    out.field("Transfer-Encoding", "chunked");
  } else if (info.framing == http::BodyFraming::content_length) {
    out.field("Content-Length", info.content_length);
  } else if (info.method == "POST" || info.method == "PUT" || info.method == "PATCH") {
    out.field("Content-Length", std::uint64_t{0});
  }
  out.end();
}

}  // namespace portico::proxy
