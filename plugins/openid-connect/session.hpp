// What the plugin's two cookies carry, sealed (crypto/sealed_box.hpp) so the client can read
// and change none of it:
//   the pre-login ("authorization") cookie, between the redirect to the provider and the
//   callback: the state, nonce and PKCE verifier the callback must match, and where to go after;
//   the session cookie, after login: who the user is, the claims kept for the upstream, the
//   provider's tokens, and the times its timeouts count from.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace portico::plugins::openid_connect {

struct PreLogin {
  std::string state;
  std::string nonce;
  std::string code_verifier;  // empty without PKCE
  std::string return_to;      // a same-site path ("/orders?page=2"): where the login started
  double created = 0;         // seconds since the epoch
};

struct Session {
  std::string subject;
  boost::json::object claims;  // the ID token's (or user info's) claims the upstream may be given
  std::string access_token;
  double access_expires = 0;   // 0: unknown
  std::string refresh_token;
  std::string id_token;        // for the provider's logout (id_token_hint)
  double created = 0;          // login: the absolute timeout counts from here
  double renewed = 0;          // last full renewal: the rolling timeout counts from here
  double seen = 0;             // last use written to the cookie: the idling timeout counts from here
};

std::string encode(const PreLogin& p);
std::optional<PreLogin> decode_pre_login(std::string_view json);
std::string encode(const Session& s);
std::optional<Session> decode_session(std::string_view json);

struct SessionTimeouts {
  double rolling = 3600, absolute = 86400, idling = 900;  // seconds; 0: none
};
// "" while the session is valid at `now`, else which timeout ended it.
std::string session_expiry_problem(const Session& s, const SessionTimeouts& t, double now);

// Whether a `return_to` is a path on this site (and so safe to redirect to): it starts with a
// single '/', not "//" or "/\" (another host to browsers), and holds no control characters.
bool is_same_site_path(std::string_view path);

}  // namespace portico::plugins::openid_connect
