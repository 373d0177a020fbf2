#include "admin/admin_server.hpp"

#include <gtest/gtest.h>

#include "admin/plugin_endpoints.hpp"

namespace portico::admin {
namespace {

namespace ip = boost::asio::ip;

TEST(AdminExposure, WarnsOnlyWhenReachableFromOtherHostsWithoutAToken) {
  EXPECT_EQ(AdminServer::exposure_warning(ip::make_address("127.0.0.1"), ""), "");
  EXPECT_EQ(AdminServer::exposure_warning(ip::make_address("::1"), ""), "");
  EXPECT_EQ(AdminServer::exposure_warning(ip::make_address("0.0.0.0"), "token"), "");
  std::string warning = AdminServer::exposure_warning(ip::make_address("0.0.0.0"), "");
  EXPECT_NE(warning.find("without --admin-token"), std::string::npos) << warning;
  EXPECT_NE(AdminServer::exposure_warning(ip::make_address("10.0.0.5"), "").find("10.0.0.5"), std::string::npos);
}

TEST(PluginEndpoints, PathPatternsMatchWholeSegments) {
  std::vector<std::string> params;
  EXPECT_TRUE(match_endpoint_path("/circuit-breakers", "/circuit-breakers", params));
  EXPECT_TRUE(params.empty());
  EXPECT_TRUE(match_endpoint_path("/proxy-cache/{key}", "/proxy-cache/a%2Fb", params));
  EXPECT_EQ(params, std::vector<std::string>{"a/b"});
  EXPECT_TRUE(match_endpoint_path("/x/{a}/y/{b}", "/x/1/y/2", params));
  EXPECT_EQ(params, (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(match_endpoint_path("/proxy-cache/{key}", "/proxy-cache", params));
  EXPECT_FALSE(match_endpoint_path("/proxy-cache/{key}", "/proxy-cache/", params));
  EXPECT_FALSE(match_endpoint_path("/proxy-cache/{key}", "/proxy-cache/a/b", params));
  EXPECT_FALSE(match_endpoint_path("/circuit-breakers", "/circuit-breakersx", params));
  EXPECT_FALSE(match_endpoint_path("/circuit-breakers", "/circuit-breakers/1", params));
  // A last "{name...}" takes the rest of the path.
  EXPECT_TRUE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge/products/42", params));
  EXPECT_EQ(params, std::vector<std::string>{"products/42"});
  EXPECT_TRUE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge/a%20b/*", params));
  EXPECT_EQ(params, std::vector<std::string>{"a b/*"});
  EXPECT_TRUE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge/products", params));  // one segment
  EXPECT_EQ(params, std::vector<std::string>{"products"});
  EXPECT_TRUE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge/*", params));
  EXPECT_EQ(params, std::vector<std::string>{"*"});
  EXPECT_FALSE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge/", params));
  EXPECT_FALSE(match_endpoint_path("/cache/purge/{path...}", "/cache/purge", params));
}

}  // namespace
}  // namespace portico::admin
