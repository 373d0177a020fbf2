#include "proxy/head_writer.hpp"

#include <charconv>

#include "plugin/request_context.hpp"

namespace portico::proxy {

HeadBuilder& HeadBuilder::number(std::uint64_t value) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, value);
  return raw(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
}

HeadBuilder& HeadBuilder::field(std::string_view name, std::uint64_t value) {
  return raw(name).raw(": ").number(value).raw("\r\n");
}

void build_upstream_request(HeadBuilder& out, const http::RequestHead& req, const ForwardingInfo& info) {
  out.clear();
  out.raw(info.method).raw(" ").raw(info.upstream_target).raw(" HTTP/1.1\r\n");
  std::string_view edited_host = info.edits != nullptr ? info.edits->find("Host") : std::string_view{};
  out.field("Host", edited_host.empty() ? info.host_header : edited_host);
  std::string_view client_xff, client_proto, client_host, client_port, client_prefix, via;
  using http::FieldKind;
  for (const auto& h : req.headers) {
    switch (h.kind) {
      case FieldKind::other:
        if (!req.connection_tokens.empty() && http::named_in_connection(req, h.name)) continue;
        if (info.edits != nullptr && info.edits->drops(h.name)) continue;
        if (!info.request_id_header.empty() && http::iequals(h.name, info.request_id_header)) continue;
        out.field(h.name, h.value);
        continue;
      // Client values of the forwarding fields count only from trusted peers.
      case FieldKind::x_forwarded_for: if (info.trusted_peer) client_xff = h.value; continue;
      case FieldKind::x_forwarded_proto: if (info.trusted_peer) client_proto = h.value; continue;
      case FieldKind::x_forwarded_host: if (info.trusted_peer) client_host = h.value; continue;
      case FieldKind::x_forwarded_port: if (info.trusted_peer) client_port = h.value; continue;
      case FieldKind::x_forwarded_prefix: if (info.trusted_peer) client_prefix = h.value; continue;
      case FieldKind::x_forwarded_other:
        if (info.trusted_peer) out.field(h.name, h.value);  // e.g. X-Forwarded-Client-Cert
        continue;
      case FieldKind::via: via = h.value; continue;
      default:
        // host and expect are regenerated or consumed; x-real-ip is set below; the rest is
        // hop-by-hop or framing.
        continue;
    }
  }
  if (!client_xff.empty()) {
    // Every line the trusted peer sent, in order, as one list, then the peer.
    out.raw("X-Forwarded-For: ");
    for (const auto& h : req.headers) {
      if (h.kind == FieldKind::x_forwarded_for) out.raw(h.value).raw(", ");
    }
    out.raw(info.client_ip).raw("\r\n");
  } else {
    out.field("X-Forwarded-For", info.client_ip);
  }
  out.field("X-Forwarded-Proto", client_proto.empty() ? info.scheme : client_proto);
  out.field("X-Forwarded-Host", client_host.empty() ? info.forwarded_host : client_host);
  out.field("X-Forwarded-Port", client_port.empty() ? info.server_port : client_port);
  if (!client_prefix.empty()) out.field("X-Forwarded-Prefix", client_prefix);
  else if (!info.forwarded_prefix.empty()) out.field("X-Forwarded-Prefix", info.forwarded_prefix);
  out.field("X-Real-IP", info.real_ip.empty() ? info.client_ip : info.real_ip);
  if (via.empty()) {
    out.field("Via", "1.1 portico");
  } else {
    out.raw("Via: ").raw(via).raw(", 1.1 portico\r\n");
  }
  if (!info.request_id_header.empty()) out.field(info.request_id_header, info.request_id);
  if (info.websocket) out.raw("Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n");
  if (info.edits != nullptr) {
    info.edits->for_each_set([&](std::string_view n, std::string_view v) {
      if (!http::iequals(n, "Host")) out.field(n, v);  // (written first, above)
    });
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
