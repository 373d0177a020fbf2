#include "core/listen_spec.hpp"

#include <gtest/gtest.h>

namespace portico {
namespace {

TEST(ListenSpec, KongsFlags) {
  ListenSpec spec;
  std::string error;
  ASSERT_TRUE(parse_listen_spec("0.0.0.0:8443 http2 ssl reuseport backlog=16384", spec, error)) << error;
  EXPECT_TRUE(spec.ssl);
  EXPECT_TRUE(spec.http2);
  EXPECT_EQ(spec.backlog, 16384);
  EXPECT_EQ(spec.endpoint.port(), 8443);
  ListenSpec plain;
  ASSERT_TRUE(parse_listen_spec("[::1]:8000", plain, error)) << error;
  EXPECT_FALSE(plain.ssl);
  EXPECT_FALSE(plain.http2);
  EXPECT_TRUE(plain.endpoint.address().is_v6());
}

TEST(ListenSpec, RefusesWhatItCannotDo) {
  ListenSpec spec;
  std::string error;
  EXPECT_FALSE(parse_listen_spec("0.0.0.0:8443 ssl proxy_protocol", spec, error));
  EXPECT_NE(error.find("'proxy_protocol'"), std::string::npos) << error;
  EXPECT_FALSE(parse_listen_spec("0.0.0.0:8443 tls", spec, error));
  EXPECT_NE(error.find("unknown flag 'tls'"), std::string::npos) << error;
  EXPECT_FALSE(parse_listen_spec("0.0.0.0:8443 backlog=x", spec, error));
  EXPECT_FALSE(parse_listen_spec("example.com:8443", spec, error));
  EXPECT_FALSE(parse_listen_spec("", spec, error));
}

}  // namespace
}  // namespace portico
