#include "plugin/redis_fields.hpp"

#include <algorithm>

namespace portico::plugin {

net::RedisSettings RedisFields::settings() const {
  net::RedisSettings s;
  s.host = host;
  s.port = port;
  s.username = username;
  s.password = password;
  s.database = database;
  s.timeout = std::chrono::milliseconds(std::max(1, timeout));
  return s;
}

const schema::Record<RedisFields>& redis_record() {
  using R = RedisFields;
  static const schema::Record<R> record = [] {
    schema::Record<R> r;
    r.field("host", &R::host, {.nullable = true})
        .field("port", &R::port, {.min = 0, .max = 65535})
        .field("timeout", &R::timeout, {.min = 0, .max = 2147483646})
        .field("username", &R::username, {.nullable = true})
        .field("password", &R::password, {.nullable = true})
        .field("database", &R::database)
        .field("ssl", &R::ssl)
        .field("ssl_verify", &R::ssl_verify)
        .field("server_name", &R::server_name, {.nullable = true});
    return r;
  }();
  return record;
}

void refuse_unsupported_redis(const RedisFields& redis, const std::string& field, schema::Errors& errors) {
  if (redis.ssl) errors.push_back({field + ".ssl", "TLS to Redis is not supported yet by Portico"});
}

}  // namespace portico::plugin
