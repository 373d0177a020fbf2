// The openid-connect plugin's logout (README.md): the session cookie cleared, then the
// provider's RP-initiated logout when it offers one; cross-site requests refused (CSRF).
#include "plugins/openid-connect/instance.hpp"
#include "plugins/openid-connect/pkce.hpp"

namespace portico::plugins::openid_connect {

Access OpenIdConnect::logout(RequestContext& ctx, std::string_view cookies) const {
  const http::RequestHead& head = ctx.request();
  const std::string_view fetch_site = head.find("sec-fetch-site");
  const std::string_view origin = head.find("origin");
  const std::string own_origin = std::string(ctx.scheme()) + "://" + std::string(head.host);
  if ((!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") ||
      (head.has("origin") && origin != own_origin)) {
    ctx.reply(403, "Cross-site logout refused");
    return Access::replied;
  }
  int chunks = 0;
  std::string id_token;
  std::string joined;
  if (auto sealed = read_cookie(cookies, config_.session_cookie_name, chunks, joined)) {
    if (auto opened = sessions_.open(*sealed, kCookieChunk * kMaxCookieChunks)) {
      if (auto s = decode_session(*opened)) id_token = s->id_token;
    }
  }
  std::string headers = clear_cookie_lines(config_.session_cookie_name, cookie_attributes(ctx, true), std::max(chunks, 1));
  headers += "Cache-Control: no-store\r\n";
  auto provider = provider_->state();
  const std::string post_logout = config_.logout_redirect_uri.empty() ? "" : config_.logout_redirect_uri.front();
  if (provider && !provider->metadata.end_session_endpoint.empty()) {
    std::vector<std::pair<std::string, std::string>> query;
    if (!id_token.empty()) query.emplace_back("id_token_hint", id_token);
    if (!post_logout.empty()) query.emplace_back("post_logout_redirect_uri", post_logout);
    query.emplace_back("state", random_token());
    const std::string& endpoint = provider->metadata.end_session_endpoint;
    headers += "Location: " + endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + form_encode(query) + "\r\n";
    ctx.reply(302, "Logged out", ctx.store(headers));
  } else if (!post_logout.empty()) {
    ctx.reply(302, "Logged out", ctx.store(headers + "Location: " + post_logout + "\r\n"));
  } else {
    ctx.reply(204, "", ctx.store(headers));
  }
  return Access::replied;
}

}  // namespace portico::plugins::openid_connect
