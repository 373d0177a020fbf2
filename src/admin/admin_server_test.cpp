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

TEST(AdminCrossSite, RefusesBrowserWritesFromOtherOriginsOnly) {
  // curl and scripts send no Origin: every write goes on as before.
  EXPECT_FALSE(AdminServer::cross_site_write("POST", "", "127.0.0.1:8001", ""));
  // The dashboard's own page: same origin.
  EXPECT_FALSE(AdminServer::cross_site_write("POST", "http://127.0.0.1:8001", "127.0.0.1:8001", "same-origin"));
  EXPECT_FALSE(AdminServer::cross_site_write("DELETE", "http://LOCALHOST:8001", "localhost:8001", ""));
  // A form on another site posted to the Admin API: refused, whichever header tells it.
  EXPECT_TRUE(AdminServer::cross_site_write("POST", "https://evil.example", "127.0.0.1:8001", "cross-site"));
  EXPECT_TRUE(AdminServer::cross_site_write("POST", "https://evil.example", "127.0.0.1:8001", ""));
  EXPECT_TRUE(AdminServer::cross_site_write("PATCH", "", "127.0.0.1:8001", "same-site"));
  EXPECT_TRUE(AdminServer::cross_site_write("PUT", "null", "127.0.0.1:8001", ""));
  EXPECT_TRUE(AdminServer::cross_site_write("POST", "http://127.0.0.1:8002", "127.0.0.1:8001", ""));
  // Sec-Fetch-Site: same-origin is the browser's word: also behind a proxy that changes Host.
  EXPECT_FALSE(AdminServer::cross_site_write("POST", "https://admin.example", "10.0.0.5:8001", "same-origin"));
  // Reads are not writes (a browser does not let another page read the answer).
  EXPECT_FALSE(AdminServer::cross_site_write("GET", "https://evil.example", "127.0.0.1:8001", "cross-site"));
}

TEST(AdminRebinding, BrowsersReachATokenlessAdminApiByAddressOnly) {
  EXPECT_FALSE(AdminServer::rebinding_risk("127.0.0.1:8001", "same-origin", false));
  EXPECT_FALSE(AdminServer::rebinding_risk("[::1]:8001", "same-origin", false));
  EXPECT_FALSE(AdminServer::rebinding_risk("localhost:8001", "none", false));
  EXPECT_TRUE(AdminServer::rebinding_risk("evil.example:8001", "same-origin", false));
  EXPECT_FALSE(AdminServer::rebinding_risk("evil.example:8001", "same-origin", true));  // the token cannot be had
  EXPECT_FALSE(AdminServer::rebinding_risk("admin.internal:8001", "", false));          // curl: not a browser
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
