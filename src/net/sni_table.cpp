#include "net/sni_table.hpp"

#include <algorithm>
#include <cctype>

namespace portico::net {

namespace {

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

void SniTable::add(std::string_view name, std::shared_ptr<const TlsServerContext> context) {
  by_name_[lowered(name)] = std::move(context);
}

const TlsServerContext* SniTable::exact(std::string_view name) const {
  auto found = by_name_.find(std::string(name));
  return found == by_name_.end() ? nullptr : found->second.get();
}

const TlsServerContext* SniTable::find(std::string_view server_name) const {
  if (by_name_.empty()) return nullptr;
  if (!server_name.empty()) {
    std::string name = lowered(server_name);
    if (const auto* hit = exact(name)) return hit;
    // (As Kong: a leading wildcard stands for the first of at least three labels.)
    if (std::size_t dot = name.find('.'); dot != std::string::npos && name.find('.', dot + 1) != std::string::npos) {
      if (const auto* hit = exact("*" + name.substr(dot))) return hit;  // *.example.com
    }
    if (std::size_t dot = name.rfind('.'); dot != std::string::npos) {
      if (const auto* hit = exact(name.substr(0, dot) + ".*")) return hit;  // example.*
    }
  }
  return exact("*");
}

void SniTable::keep(const std::string& certificate_id, std::string fingerprint,
                    std::shared_ptr<const TlsServerContext> context) {
  by_certificate_[certificate_id] = {std::move(fingerprint), std::move(context)};
}

std::shared_ptr<const TlsServerContext> SniTable::kept(const std::string& certificate_id,
                                                       const std::string& fingerprint) const {
  auto found = by_certificate_.find(certificate_id);
  if (found == by_certificate_.end() || found->second.first != fingerprint) return nullptr;
  return found->second.second;
}

std::vector<std::shared_ptr<const TlsServerContext>> SniTable::contexts() const {
  std::vector<std::shared_ptr<const TlsServerContext>> all;
  for (const auto& [id, kept] : by_certificate_) all.push_back(kept.second);
  return all;
}

}  // namespace portico::net
