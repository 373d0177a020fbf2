// What the upstream learns from the openid-connect plugin (README.md): the user's id and
// configured claims as headers (client copies removed first), the access token, the consumer;
// the plugin's own cookies never go upstream.
#include <spdlog/spdlog.h>

#include "plugins/openid-connect/instance.hpp"
#include "plugins/openid-connect/requirements.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;

void OpenIdConnect::scrub_identity_headers(RequestContext& ctx) const {
  if (!config_.upstream_user_id_header.empty()) ctx.upstream_headers().remove_present(ctx.request(), config_.upstream_user_id_header);
  for (const std::string& name : config_.upstream_headers_names) ctx.upstream_headers().remove_present(ctx.request(), name);
}

Identity OpenIdConnect::identity_of(const std::string& subject, const json::object& claims,
                                    std::string_view access_token) const {
  Identity id;
  id.subject = subject;
  id.bad_subject = has_control(subject);
  id.unmet = unmet_requirement(claims, {{"scopes", config_.scopes_claim, config_.scopes_required},
                                        {"audience", config_.audience_claim, config_.audience_required},
                                        {"groups", config_.groups_claim, config_.groups_required},
                                        {"roles", config_.roles_claim, config_.roles_required}});
  for (std::size_t i = 0; i < config_.upstream_headers_claims.size(); ++i) {
    const json::value* v = claims.if_contains(config_.upstream_headers_claims[i]);
    if (v == nullptr || v->is_null()) continue;
    std::string text = claim_text(*v);
    if (has_control(text)) continue;  // would split the upstream head: left out
    id.claim_headers.emplace_back(i, std::move(text));
  }
  if (!access_token.empty() && !config_.upstream_access_token_header.empty()) {
    id.access_token_value = config_.upstream_access_token_header == "authorization:bearer"
                                ? "Bearer " + std::string(access_token)
                                : std::string(access_token);
  }
  if (!config_.consumer_claim.empty()) {
    const json::value* claim = claim_at(claims, config_.consumer_claim);
    const auto found = claim != nullptr ? consumers_.find(claim_text(*claim)) : consumers_.end();
    if (found != consumers_.end()) id.consumer = found->second;
    id.consumer_missing = found == consumers_.end() && !config_.consumer_optional;
  }
  return id;
}

bool OpenIdConnect::identify(RequestContext& ctx, const Identity& id, std::string_view cookies) const {
  if (id.bad_subject) {
    ctx.reply(401, config_.unauthorized_error_message);
    return false;
  }
  if (!id.unmet.empty()) {
    // RFC 6750 3.1: insufficient_scope for scopes; a 403 carries no invalid_token.
    spdlog::info("openid-connect: refused: required {} missing", id.unmet);
    ctx.reply(403, config_.forbidden_error_message,
              id.unmet == "scopes" ? ctx.concat({"WWW-Authenticate: Bearer realm=\"", ctx.request().host,
                                                  "\", error=\"insufficient_scope\"\r\n"})
                                   : std::string_view());
    return false;
  }
  if (id.consumer_missing) {
    ctx.reply(403, config_.forbidden_error_message);
    return false;
  }
  const std::string_view subject = ctx.store(id.subject);
  if (!config_.upstream_user_id_header.empty()) ctx.upstream_headers().set(config_.upstream_user_id_header, subject);
  for (const auto& [index, value] : id.claim_headers) {
    ctx.upstream_headers().set(config_.upstream_headers_names[index], ctx.store(value));
  }
  if (!id.access_token_value.empty()) {
    const bool bearer = config_.upstream_access_token_header == "authorization:bearer";
    ctx.upstream_headers().set(bearer ? std::string_view("Authorization") : std::string_view(config_.upstream_access_token_header),
                               ctx.store(id.access_token_value));
  }
  strip_own_cookies(ctx, cookies);
  if (id.consumer != nullptr) ctx.authenticate(*id.consumer, subject);
  else ctx.authenticate_without_consumer(subject);
  return true;
}

void OpenIdConnect::strip_own_cookies(RequestContext& ctx, std::string_view cookies) const {
  if (cookies.empty()) return;
  std::string kept;
  std::string_view rest = cookies;
  while (!rest.empty()) {
    const std::size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    const std::string_view name = pair.substr(0, pair.find('='));
    if (pair.empty() || is_own_cookie(name)) continue;
    if (!kept.empty()) kept += "; ";
    kept += pair;
  }
  if (kept.empty()) ctx.upstream_headers().remove("Cookie");
  else ctx.upstream_headers().set("Cookie", ctx.store(kept));
}

bool OpenIdConnect::is_own_cookie(std::string_view name) const {
  if (name == config_.authorization_cookie_name) return true;
  if (config_.hide_credentials && !config_.bearer_token_cookie_name.empty() && name == config_.bearer_token_cookie_name) return true;
  const std::string& session = config_.session_cookie_name;
  if (name.substr(0, session.size()) != session) return false;
  const std::string_view suffix = name.substr(session.size());
  return suffix.empty() || (suffix.size() == 1 && suffix[0] >= '2' && suffix[0] <= '9');
}

}  // namespace portico::plugins::openid_connect
