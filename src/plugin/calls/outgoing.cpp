#include "plugin/calls/outgoing.hpp"

#include <cctype>
#include <cstdlib>
#include <set>

#include "http/header_view.hpp"
#include "plugin/plugin.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin::calls {

SplitUrl split_url(std::string_view url) {
  SplitUrl out;
  url.remove_prefix(url.find("://") + 3);
  std::size_t end = url.find_first_of("/?#");
  out.authority = std::string(url.substr(0, end));
  out.rest = end == std::string_view::npos ? "/" : std::string(url.substr(end));
  if (out.rest.front() != '/') out.rest.insert(0, "/");
  std::string_view host = out.authority;
  std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    out.port = std::atoi(std::string(host.substr(colon + 1)).c_str());
    host = host.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  return out;
}

// "http(s)://host[:port]" must be written out: no template may choose where the gateway calls.
std::string check_url(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.starts_with("https://")) return "https:// URLs are not supported yet (upstream TLS comes with the TLS issue)";
  else return "only http:// URLs";
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return "the URL has no host";
  if (authority.find('{') != std::string_view::npos) return "the host of a URL cannot come from a template";
  return {};
}

const config::ServiceConfig* find_service(const config::DeclarativeConfig& config, const std::string& name, std::size_t& index) {
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    if (config.services[i].name == name || config.services[i].id == name) {
      index = i;
      return &config.services[i];
    }
  }
  return nullptr;
}

std::shared_ptr<FixedDestination> fixed_destination(const SplitUrl& url, BuildContext& build) {
  auto fixed = std::make_shared<FixedDestination>();
  fixed->host_header = url.authority;
  if (build.resolve) {
    for (const auto& address : build.resolve(url.host, url.port, fixed->resolve_error)) {
      fixed->addresses.push_back({address, address.address().to_string() + ":" + std::to_string(address.port())});
    }
  }
  return fixed;
}

namespace {

// Headers that say how a message is framed or routed: the gateway writes its own, so a client's
// copy forwarded as is could duplicate Host or announce a body that never comes.
bool is_connection_header(std::string_view name) {
  static const std::set<std::string, std::less<>> kRefused = {
      "host",    "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
      "upgrade", "te",             "trailer",           "expect",     "content-type"};
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kRefused.count(lower) != 0;
}

}  // namespace

void check_forward_headers(const std::vector<std::string>& names, const std::string& field, schema::Errors& errors) {
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (is_connection_header(names[k])) {
      errors.push_back({field + "[" + std::to_string(k) + "]",
                        "'" + names[k] + "' is written by the gateway itself and cannot be forwarded"});
    }
  }
}

std::string forwarded_headers(const RequestContext& ctx, const std::vector<std::string>& names) {
  std::string lines;
  ctx.upstream_headers().for_each_set([&](std::string_view name, std::string_view value) {
    lines.append(name).append(": ").append(value).append("\r\n");
  });
  lines.append("X-Forwarded-For: ").append(ctx.client_ip()).append("\r\n");
  lines.append("X-Real-IP: ").append(ctx.client_ip()).append("\r\n");
  lines.append("X-Forwarded-Proto: http\r\n");
  lines.append("Via: 1.1 portico\r\n");
  if (!ctx.request_id_header().empty()) {
    lines.append(ctx.request_id_header()).append(": ").append(ctx.request_id()).append("\r\n");
  }
  if (!ctx.request().host.empty()) {
    lines.append("X-Forwarded-Host: ").append(http::host_without_port(ctx.request().host)).append("\r\n");
  }
  lines += copied_headers(ctx, names);
  return lines;
}

std::string copied_headers(const RequestContext& ctx, const std::vector<std::string>& names) {
  std::string lines;
  for (const auto& name : names) {
    if (ctx.upstream_headers().drops(name)) continue;
    if (!ctx.request_id_header().empty() && http::iequals(name, ctx.request_id_header())) continue;  // set by forwarded_headers
    for (const auto& h : ctx.request().headers) {
      if (http::iequals(h.name, name)) lines.append(h.name).append(": ").append(h.value).append("\r\n");
    }
  }
  return lines;
}

}  // namespace portico::plugin::calls
