#include "admin/admin_server.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace portico::admin
