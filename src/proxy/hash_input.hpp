// The consistent-hashing key of a request: Kong's hash_on / hash_fallback inputs.
#pragma once

#include <string>
#include <string_view>

#include "config/model.hpp"
#include "http/header_view.hpp"
#include "router/router.hpp"

namespace portico::proxy {

struct HashInputs {
  std::string_view client_ip;
  std::string_view path;         // normalized request path
  std::string_view consumer_id;  // empty until authentication identifies one
  const http::RequestHead* request = nullptr;
  const router::MatchResult* match = nullptr;
};

struct HashKey {
  std::string key;            // empty: no input had a value (the balancer uses hash 0)
  std::string minted_cookie;  // hash_on cookie without the cookie: the value to set
};

// Evaluates hash_on, then hash_fallback when hash_on yields nothing. With hash_on
// cookie and no cookie in the request, a fresh random value is minted (and must be sent
// back with Set-Cookie so the client sticks to its target).
HashKey balancing_key(const config::UpstreamConfig& upstream, const HashInputs& in);

}  // namespace portico::proxy
