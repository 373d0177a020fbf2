// Rules every authentication plugin shares (Kong's): the `anonymous` consumer, skipping
// CORS preflights, and how several auth plugins on one route combine.
//
//   anonymous unset ("logical AND"): a failed check answers the plugin's 401/403 at once.
//   anonymous set   ("logical OR"):  if an earlier auth plugin already found a credential,
//       this one does nothing; otherwise a failed check lets the request go on as the
//       anonymous consumer (X-Anonymous-Consumer: true), and a later auth plugin may still
//       authenticate it. Routes combine this with acl or request-termination.
#pragma once

#include <string>
#include <type_traits>

#include "config/model.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/plugin.hpp"
#include "plugin/request_context.hpp"
#include "plugin/string_map.hpp"

namespace portico::plugin {

// Fields every auth plugin has.
struct AuthOptions {
  std::string anonymous;  // consumer id or username; empty: none
  bool run_on_preflight = true;
};

// Adds `anonymous` (Kong writes `anonymous: null` for none) and `run_on_preflight` to the
// record of a config type with an `AuthOptions auth` member.
template <typename ConfigT>
void add_auth_fields(schema::Record<ConfigT>& record) {
  record.template field<std::string>("anonymous", [](ConfigT& c) -> std::string& { return c.auth.anonymous; },
                                     {.nullable = true});
  record.template field<bool>("run_on_preflight", [](ConfigT& c) -> bool& { return c.auth.run_on_preflight; });
}
// Rules for a `realm`, which goes into a WWW-Authenticate quoted string: no '"', '\\' or
// control characters.
std::string realm_problem(const std::string& realm);
// Schema check: the anonymous consumer must exist.
void check_auth_options(const AuthOptions& options, const config::DeclarativeConfig& config, const CheckError& error);
// True for a non-empty RFC 9110 token (header names, auth schemes).
bool is_token(std::string_view s);

// Schema::check for an auth plugin whose config type has an `AuthOptions auth` member.
template <typename ConfigT>
void check_auth_config(const ParsedConfig& config, const config::DeclarativeConfig& all, const CheckError& error) {
  check_auth_options(static_cast<const ConfigT&>(config).auth, all, error);
}

// The consumer with this id or username, or nullptr.
const config::ConsumerConfig* find_consumer(const config::DeclarativeConfig& config, std::string_view id_or_username);

// What an auth plugin's check found.
enum class Verdict {
  passed,  // the caller proved who it is (ctx.authenticate() was called)
  failed,  // ctx.reply(...) was called
  wait,    // the plugin must wait for I/O (e.g. a key refresh): access returns suspend
};

// The end of an auth plugin's access phase once its check has a verdict (also called from
// access_async after a wait).
Access finish_authentication(RequestContext& ctx, const config::ConsumerConfig* anonymous, Verdict verdict);

// Runs `check` (returning Verdict, or bool for passed/failed) under the rules above.
template <typename Check>
Access authenticate(RequestContext& ctx, const AuthOptions& options, const config::ConsumerConfig* anonymous,
                    Check check) {
  if (!options.run_on_preflight && ctx.request().method == "OPTIONS") return Access::next;
  if (anonymous != nullptr && ctx.has_credential()) return Access::next;
  Verdict verdict;
  if constexpr (std::is_same_v<decltype(check()), bool>) verdict = check() ? Verdict::passed : Verdict::failed;
  else verdict = check();
  if (verdict == Verdict::wait) return Access::suspend;
  return finish_authentication(ctx, anonymous, verdict);
}

}  // namespace portico::plugin
