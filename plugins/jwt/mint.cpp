#include "plugins/jwt/mint.hpp"

#include <boost/json/serialize.hpp>

#include "crypto/base64.hpp"

namespace portico::plugins::jwt {

std::string mint_token(const VerifyKey& key, std::string_view kid, const boost::json::object& claims) {
  boost::json::object header{{"alg", alg_name(key.alg)}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string token = crypto::base64url_encode(boost::json::serialize(header)) + "." +
                      crypto::base64url_encode(boost::json::serialize(claims));
  const auto signature = sign(key, token);
  if (!signature) return "";
  return token + "." + crypto::base64url_encode(*signature);
}

}  // namespace portico::plugins::jwt
