// What a login at the gateway ends with (README.md, "After the login"): the session cookie, and
// `login_action`'s answer: `upstream` sends the browser back where the login started;
// `redirect` to login_redirect_uri with login_tokens in its fragment (or query); `response`
// answers the tokens as JSON, for API clients. With issue_jwt, `token` is Portico's own short
// JWT for the user, which bearer mode on this plugin accepts back.
#include <boost/json.hpp>

#include "plugins/jwt/mint.hpp"
#include "plugins/openid-connect/instance.hpp"
#include "plugins/openid-connect/pkce.hpp"

namespace portico::plugins::openid_connect {

namespace json = boost::json;

Access OpenIdConnect::finish_login(RequestContext& ctx, const Session& session, const std::string& return_to) const {
  if (!write_session(ctx, session, 0)) return Access::replied;
  ctx.add_response_header_lines(ctx.store(clear_cookie_lines(config_.authorization_cookie_name, cookie_attributes(ctx, false), 1)));
  if (config_.login_action == "upstream") {
    ctx.reply(302, "Logged in", ctx.concat({"Location: ", return_to, "\r\nCache-Control: no-store\r\n"}));
    return Access::replied;
  }
  const json::object tokens = login_tokens(session);
  if (config_.login_action == "response") {
    ctx.reply_json(200, ctx.store(json::serialize(tokens)), "Cache-Control: no-store\r\nPragma: no-cache\r\n");
    return Access::replied;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, value] : tokens) fields.emplace_back(name, claim_text(value));
  std::string location = config_.login_redirect_uri.front();
  if (!fields.empty()) {
    const char mark = config_.login_redirect_mode == "query" ? '?' : '#';
    const char separator = location.find(mark) == std::string::npos ? mark : '&';
    location += separator + form_encode(fields);
  }
  ctx.reply(302, "Logged in", ctx.concat({"Location: ", location, "\r\nCache-Control: no-store\r\n"}));
  return Access::replied;
}

json::object OpenIdConnect::login_tokens(const Session& session) const {
  json::object out;
  for (const std::string& t : config_.login_tokens) {
    if (t == "id_token" && !session.id_token.empty()) out["id_token"] = session.id_token;
    if (t == "access_token" && !session.access_token.empty()) out["access_token"] = session.access_token;
    if (t == "refresh_token" && !session.refresh_token.empty()) out["refresh_token"] = session.refresh_token;
    if (t == "tokens") {  // what the token endpoint answered, as far as the session keeps it
      json::object all{{"access_token", session.access_token}, {"token_type", "Bearer"}};
      if (session.access_expires > 0) all["expires_in"] = static_cast<std::int64_t>(session.access_expires - session.renewed);
      if (!session.id_token.empty()) all["id_token"] = session.id_token;
      if (!session.refresh_token.empty()) all["refresh_token"] = session.refresh_token;
      out["tokens"] = std::move(all);
    }
  }
  if (internal_key_) {
    out["token"] = mint_internal_jwt(session);
    out["token_type"] = "Bearer";
    out["expires_in"] = config_.issue_jwt.ttl;
  }
  return out;
}

std::string OpenIdConnect::mint_internal_jwt(const Session& session) const {
  if (!internal_key_) return "";
  const IssueJwtConfig& j = config_.issue_jwt;
  json::object claims;
  for (const auto& [claim, source] : j.claims) {
    if (source == "sub") {
      claims[claim] = session.subject;
    } else if (const json::value* v = session.claims.if_contains(source); v != nullptr && !v->is_null()) {
      claims[claim] = *v;
    }
  }
  // The registered claims are the gateway's, whatever the mapping says.
  const auto now = static_cast<std::int64_t>(now_seconds());
  claims["iss"] = j.issuer;
  if (j.audience.size() == 1) claims["aud"] = j.audience.front();
  if (j.audience.size() > 1) claims["aud"] = json::value_from(j.audience);
  claims["iat"] = now;
  claims["exp"] = now + j.ttl;
  claims["jti"] = random_token();
  return jwt::mint_token(*internal_key_, j.key_id, claims);
}

}  // namespace portico::plugins::openid_connect
