// The openid-connect plugin's instance: one per configured plugin entry, shared by every
// worker (const; what it remembers is behind its own locks). Its parts, by file:
//   plugin.cpp    the schema, the access decision and the session cookie path;
//   login.cpp     the login's start, the callback, the ID token's verification, refresh;
//   login_answer.cpp  what a login ends with (login_action), the internal JWT (issue_jwt);
//   logout.cpp    logout (RP-initiated at the provider when it offers it);
//   bearer.cpp    API calls with an access token: a JWT verified with the provider's keys, or
//                 an opaque token introspected (RFC 7662), the answers remembered until expiry;
//   identity.cpp  what the upstream learns: identity headers, consumer, own cookies removed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sealed_box.hpp"
#include "plugin/auth.hpp"
#include "plugin/expiring_cache.hpp"
#include "plugin/request_context.hpp"
#include "plugin/string_map.hpp"
#include "plugins/jwt/jwks.hpp"
#include "plugins/openid-connect/config.hpp"
#include "plugins/openid-connect/cookies.hpp"
#include "plugins/openid-connect/provider.hpp"
#include "plugins/openid-connect/refresh_flights.hpp"
#include "plugins/openid-connect/session.hpp"
#include "plugins/openid-connect/token_client.hpp"

namespace portico::plugins::openid_connect {

using plugin::Access;
using plugin::RequestContext;

// Seconds since the epoch, as the tokens' and sessions' times are.
double now_seconds();
std::chrono::milliseconds ms(double milliseconds);
// Every Cookie header's value as one list (HTTP/2 sends crumbs; clients may send several): the
// header itself when there is one, else joined in `storage`.
std::string_view cookie_list(const http::RequestHead& head, std::string& storage);
// A claim as header text: strings as they are, other JSON serialised.
std::string claim_text(const boost::json::value& v);
// Whether the text holds a control character (it would split an upstream head).
bool has_control(std::string_view s);

// What the upstream learns about a user, prepared once per opened session or verified token
// (identity.cpp): the header values ready, the consumer found.
struct Identity {
  std::string subject;
  std::vector<std::pair<std::size_t, std::string>> claim_headers;  // upstream_headers_names index -> value
  std::string access_token_value;  // upstream_access_token_header's value ("" for none)
  const config::ConsumerConfig* consumer = nullptr;
  bool consumer_missing = false;  // consumer_claim found no consumer, and one is required: 403
  std::string_view unmet;         // the first *_required the claims do not meet ("scopes"...): 403
  bool bad_subject = false;       // a subject with control characters (it would split headers): 401
};

// A session cookie opened once: the same cookie again costs a lookup, not base64, AES-GCM and
// JSON (the timeouts are still checked on every request).
struct OpenedSession {
  Session session;
  Identity identity;
  double expires_at = 0;
};

// An access token found good (verified or introspected), remembered until it expires.
struct VerifiedBearer {
  boost::json::object claims;
  Identity identity;  // the subject: sub, else client_id (a client's own token)
  double expires_at = 0;
  // A JWT's: the generation of the provider keys that verified it (trusted under that
  // generation only); 0 for an introspection answer; kMintedHere for issue_jwt's own tokens.
  std::uint64_t key_generation = 0;
  static constexpr std::uint64_t kMintedHere = ~std::uint64_t{0};
};

// Where a bearer token was found (hide_credentials removes it from there).
enum class TokenPlace : std::uint8_t { none, header, query, cookie, body };
struct FoundToken {
  std::string_view token;
  TokenPlace place = TokenPlace::none;
  std::string_view header;  // the header's name when place is header
};

class OpenIdConnect final : public plugin::Instance {
 public:
  OpenIdConnect(const OidcConfig& config, plugin::BuildContext& build);

  Access access(RequestContext& ctx) const override;
  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override;

 private:
  // What the access phase waits for once it suspended the request.
  enum class Step : std::uint8_t { none, provider, callback, refresh, bearer };
  struct StepState {
    Step step;
  };

  // plugin.cpp
  // The access phase's decision; `may_wait`: whether it may ask to wait for the provider's
  // first discovery (once per request).
  Access decide(RequestContext& ctx, bool may_wait) const;
  Access suspend(RequestContext& ctx, Step step) const;
  // Waits (bounded by the timeout) until the provider's first discovery has landed.
  boost::asio::awaitable<void> wait_for_provider() const;
  bool is_logout(const RequestContext& ctx) const;
  bool is_callback(const RequestContext& ctx) const;
  CookieAttributes cookie_attributes(const RequestContext& ctx, bool session) const;
  // The request's session, or null (none, not valid, or over a timeout: then its cookie is
  // cleared on the response). `cookies`: the request's cookie list.
  std::shared_ptr<const OpenedSession> read_session(RequestContext& ctx, std::string_view cookies, int& chunks) const;
  // When the first of the session's timeouts ends it (far away when none is set).
  double deadline_of(const Session& s) const;
  SessionTimeouts timeouts() const;
  bool needs_refresh(const Session& s, double now) const;
  // Seals the session into its cookie(s) on the response; false (and a 500) when too large.
  bool write_session(RequestContext& ctx, const Session& s, int previous_chunks) const;
  // No session: a browser's GET starts the login; anything else is refused (or, with
  // `anonymous`, goes on as the anonymous consumer: no login is forced then).
  Access no_credentials(RequestContext& ctx) const;
  // The gateway's client credentials for calls to `provider`.
  ClientCredentials client_for(const ProviderState& provider) const;
  // The provider's discovered state, or null after answering 503.
  std::shared_ptr<const ProviderState> provider_state(RequestContext& ctx) const;

  // login.cpp
  Access start_login(RequestContext& ctx) const;
  // Refuses a callback: the pre-login cookie is cleared too (a failed login starts afresh).
  Access refuse_callback(RequestContext& ctx, int status, std::string_view why) const;
  boost::asio::awaitable<Access> callback(RequestContext& ctx) const;
  // The ID token's claims once verified with the provider's keys (waiting for them when they
  // are being fetched, or fetching them again once for an unknown kid).
  boost::asio::awaitable<std::optional<boost::json::object>> verified_id_token(
      const std::shared_ptr<const ProviderState>& provider, const std::string& token, const std::string& nonce,
      std::string& why) const;
  boost::asio::awaitable<Access> refresh(RequestContext& ctx) const;

  // login_answer.cpp
  // After a good callback: the session cookie, then login_action's answer (back to where the
  // login started, a redirect with login_tokens, or the tokens as JSON).
  Access finish_login(RequestContext& ctx, const Session& session, const std::string& return_to) const;
  // login_tokens (and issue_jwt's `token`) for the session.
  boost::json::object login_tokens(const Session& session) const;
  // issue_jwt's token for the session's user ("" when no key is configured).
  std::string mint_internal_jwt(const Session& session) const;

  // bearer.cpp
  // The token in the header, query or cookie (as bearer_token_param_type allows); the body is
  // read later (bearer_async) when it may hold one.
  FoundToken find_bearer_token(RequestContext& ctx) const;
  // The token of a body already read (form, multipart or JSON `access_token`), or none.
  FoundToken body_token(RequestContext& ctx) const;
  bool may_carry_body_token(const RequestContext& ctx) const;
  // The quick path: a remembered token, or a JWT whose key is at hand; else suspends
  // (Step::bearer) for the provider, its keys, or introspection.
  Access bearer(RequestContext& ctx, const FoundToken& found) const;
  // The whole path, waiting where needed; `found` empty: reads the body first.
  boost::asio::awaitable<Access> bearer_async(RequestContext& ctx) const;
  // A good token's last checks (requirements) and the identity to the upstream.
  Access admit_bearer(RequestContext& ctx, const VerifiedBearer& verified, const FoundToken& found) const;
  Access refuse_bearer(RequestContext& ctx, std::string_view why) const;
  // The token as a verified JWT (nullopt with `error` otherwise; `unknown_kid` when the keys
  // may have rotated).
  std::shared_ptr<const VerifiedBearer> verified_jwt(std::string_view token, const ProviderState& provider,
                                                     std::string& error, bool& unknown_kid) const;
  // The token as one of issue_jwt's own: `ours` when its key signed it; then null with `error`
  // when its claims are not good (expired...).
  std::shared_ptr<const VerifiedBearer> minted_here(std::string_view token, bool& ours, std::string& error) const;
  // A verified token's entry: its claims, the identity they give, how long it is kept.
  std::shared_ptr<VerifiedBearer> make_verified(boost::json::object claims, std::string_view token, double expires_at,
                                                std::uint64_t key_generation) const;
  std::shared_ptr<const VerifiedBearer> remembered_bearer(std::string_view token, const ProviderState* provider) const;
  void hide_token(RequestContext& ctx, const FoundToken& found) const;

  // logout.cpp
  // Logout: the session cookie goes; then the provider's logout when it has one, else the
  // configured page, else 204. Refused when a browser says the request came from another site.
  Access logout(RequestContext& ctx, std::string_view cookies) const;

  // identity.cpp
  // Client copies of the identity headers never reach the upstream.
  void scrub_identity_headers(RequestContext& ctx) const;
  // The identity of `subject` with these claims and access token, for identify().
  Identity identity_of(const std::string& subject, const boost::json::object& claims, std::string_view access_token) const;
  // The verified identity to the upstream (and to the plugins after this one); false after
  // answering 403 for a consumer that cannot be found. `cookies`: the request's cookie list.
  bool identify(RequestContext& ctx, const Identity& identity, std::string_view cookies) const;
  // The session's cookies (and a pre-login cookie) are the gateway's: the upstream gets the
  // client's other cookies only, as with Kong.
  void strip_own_cookies(RequestContext& ctx, std::string_view cookies) const;
  bool is_own_cookie(std::string_view name) const;

  // Polls `busy` every 10 ms until it is false or the timeout passes; true if it waited.
  template <typename Busy>
  boost::asio::awaitable<bool> wait_while(Busy busy) const {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer poll(executor);
    const auto give_up = std::chrono::steady_clock::now() + ms(config_.timeout);
    bool waited = false;
    while (busy() && std::chrono::steady_clock::now() < give_up) {
      waited = true;
      poll.expires_after(std::chrono::milliseconds(10));
      co_await poll.async_wait(boost::asio::use_awaitable);
    }
    co_return waited;
  }

  const OidcConfig& config_;
  // auth_methods, read once (the access phase asks on every request).
  struct Methods {
    bool code, session, bearer, introspection;
  } methods_;
  std::string redirect_path_;
  crypto::SealedBox sessions_, pre_logins_;
  ClientCredentials client_;
  bool openid_ = true;
  const config::ConsumerConfig* anonymous_ = nullptr;
  plugin::StringMap<const config::ConsumerConfig*> consumers_;
  std::shared_ptr<Provider> provider_;
  mutable plugin::ExpiringCache<OpenedSession> opened_;
  mutable plugin::ExpiringCache<VerifiedBearer> bearers_;
  // Shared by every entry (and the next configuration's) of the same provider and client: two
  // entries refreshing one token would retire it under each other.
  std::shared_ptr<RefreshFlights> refreshes_;
  std::vector<std::string> issuers_allowed_;  // empty: the discovered issuer
  // issue_jwt's key: signs the internal JWT, and verifies it when it comes back as a bearer token.
  std::optional<jwt::VerifyKey> internal_key_;
  jwt::KeyMap internal_keys_;  // internal_key_ under issue_jwt.key_id
};

}  // namespace portico::plugins::openid_connect
