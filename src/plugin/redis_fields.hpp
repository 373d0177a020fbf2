// Kong's `redis` record (kong/tools/redis/schema.lua), one declaration for every plugin that
// keeps state in Redis (rate-limiting's redis policy, proxy-cache's redis strategy), and its
// translation into the client's settings (net/redis_client.hpp).
#pragma once

#include <string>

#include "net/redis_client.hpp"
#include "plugin/config_schema.hpp"

namespace portico::plugin {

struct RedisFields {
  std::string host;  // null: none given (the plugin says whether it needs one)
  int port = 6379;
  int timeout = 2000;  // ms: connect, and each command
  std::string username, password;
  int database = 0;
  bool ssl = false;
  bool ssl_verify = false;
  std::string server_name;

  net::RedisSettings settings() const;
};

const schema::Record<RedisFields>& redis_record();

// What Portico's client cannot do yet, refused rather than ignored (a password must not go
// out in the clear when TLS was asked for): errors under `field` (e.g. "redis").
void refuse_unsupported_redis(const RedisFields& redis, const std::string& field, schema::Errors& errors);

}  // namespace portico::plugin
