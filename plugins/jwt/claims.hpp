// The jwt plugin's checks of a verified token's claims, and the claims it forwards as
// headers. Pure functions of the configuration, the claims and the time.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "plugin/request_context.hpp"
#include "plugins/jwt/config.hpp"

namespace portico::plugins::jwt {

// Seconds since the epoch.
double now_seconds();
// A claim that is a JSON number, as a double.
std::optional<double> number_claim(const boost::json::object& claims, std::string_view name);
// Until when a verification may be remembered: `exp`, or five minutes from now without one.
double expiry_of(const boost::json::object& claims);

// A failed check, answered with Kong's {"<claim>": "<problem>"} body.
struct ClaimProblem {
  std::string claim;
  std::string problem;
};
// claims_to_verify (exp / nbf with leeway), maximum_expiration, required_claims, issuer,
// audiences, in that order; the first problem, or nothing when the claims pass.
std::optional<ClaimProblem> check_claims(const JwtConfig& config, const boost::json::object& claims, double now);

// Sets the claims_to_headers headers on ctx's upstream request (strings as they are, other
// JSON values serialised). Returns the name of a claim whose value holds a control
// character (it could split the upstream head: the token must be refused), else empty.
std::string_view forward_claims(const JwtConfig& config, const boost::json::object& claims,
                                plugin::RequestContext& ctx);

}  // namespace portico::plugins::jwt
