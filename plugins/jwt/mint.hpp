// Tokens Portico signs itself (compact JWS, RFC 7515): openid-connect's internal JWT after a
// login (issue_jwt) and its private_key_jwt client assertions (RFC 7523).
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "plugins/jwt/jws.hpp"

namespace portico::plugins::jwt {

// header.payload.signature with the header {"alg", "typ": "JWT", "kid" when not empty}; ""
// when the key cannot sign.
std::string mint_token(const VerifyKey& key, std::string_view kid, const boost::json::object& claims);

}  // namespace portico::plugins::jwt
