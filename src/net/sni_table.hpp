// Which certificate a TLS handshake presents, chosen by the name the client asks for (SNI),
// as Kong chooses among its `snis`: the exact name first, then a leading wildcard
// ("*.example.com" for "api.example.com"), then a trailing one ("example.*" for
// "example.org"), then the SNI "*" (the default certificate), and otherwise the listener's
// own certificate (--ssl-cert, or the self-signed one).
//
// One table per configuration snapshot, immutable once built: a handshake keeps the table it
// started with, so a reload changes the certificates of new handshakes only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/tls.hpp"

namespace portico::net {

class SniTable {
 public:
  // `name`: an exact host name, "*.rest", "prefix.*" or "*" (matched case-insensitively).
  void add(std::string_view name, std::shared_ptr<const TlsServerContext> context);
  // The context for `server_name` (empty: no SNI sent), or null for the listener's own.
  const TlsServerContext* find(std::string_view server_name) const;
  bool empty() const { return by_name_.empty(); }

  // Contexts by certificate id with a fingerprint of their PEM text, so that the next
  // snapshot's table reuses the contexts of certificates that did not change.
  void keep(const std::string& certificate_id, std::string fingerprint, std::shared_ptr<const TlsServerContext> context);
  std::shared_ptr<const TlsServerContext> kept(const std::string& certificate_id, const std::string& fingerprint) const;
  // Every certificate's context (one per certificate entity).
  std::vector<std::shared_ptr<const TlsServerContext>> contexts() const;

 private:
  const TlsServerContext* exact(std::string_view lowered) const;

  std::unordered_map<std::string, std::shared_ptr<const TlsServerContext>> by_name_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const TlsServerContext>>> by_certificate_;
};

}  // namespace portico::net
