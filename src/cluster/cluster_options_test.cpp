#include "cluster/cluster_options.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cluster/versions.hpp"
#include "net/tls.hpp"

namespace portico::cluster {
namespace {

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ClusterOptions, EachRoleRefusesWhatItCannotDoInKongsWords) {
  ClusterOptions o;
  EXPECT_TRUE(check_options(o, "off").empty());  // traditional: nothing to check
  o.role = Role::data_plane;
  EXPECT_TRUE(mentions(check_options(o, "off"), "cluster certificate and key must be provided to use Hybrid mode"));
  o.cert = "c.crt";
  o.cert_key = "c.key";
  EXPECT_TRUE(check_options(o, "off").empty());
  EXPECT_TRUE(mentions(check_options(o, "postgres"), "only in-memory storage can be used when role = \"data_plane\""));
  o.role = Role::control_plane;
  EXPECT_TRUE(check_options(o, "sqlite").empty());
  EXPECT_TRUE(check_options(o, "postgres").empty());
  EXPECT_TRUE(mentions(check_options(o, "off"), "in-memory storage can not be used when role = \"control_plane\""));
  o.mtls = "pki";
  EXPECT_TRUE(mentions(check_options(o, "sqlite"), "cluster_ca_cert must be specified when cluster_mtls = \"pki\""));
  o.mtls = "shared";
  o.max_payload = 1024;
  EXPECT_TRUE(mentions(check_options(o, "sqlite"), "cluster_max_payload must be 4194304 (4MB) or greater"));
}

TEST(ClusterOptions, TheCertificatesAreReadAndCheckedNamingTheOption) {
  auto folder = std::filesystem::temp_directory_path() / ("portico-cluster-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(folder / name) << text;
    return (folder / name).string();
  };
  auto made = net::self_signed_certificate("P-384", "portico_clustering", 30, "");
  auto other = net::self_signed_certificate("P-256", "other", 30, "");
  ClusterOptions o;
  o.role = Role::data_plane;
  o.cert = write("c.crt", made.cert_pem);
  o.cert_key = write("c.key", made.key_pem);
  std::string error;
  auto tls = load_tls(o, error);
  ASSERT_TRUE(tls) << error;
  EXPECT_EQ(tls->cert_digest, net::certificate_digest(made.cert_pem));
  o.cert_key = write("other.key", other.key_pem);
  EXPECT_FALSE(load_tls(o, error));
  EXPECT_EQ(error, "cluster_cert_key: the key is not the one of cluster_cert");
  o.cert = (folder / "missing.crt").string();
  EXPECT_FALSE(load_tls(o, error));
  EXPECT_EQ(error.rfind("cluster_cert: failed loading certificate from " + o.cert, 0), 0u) << error;
  std::filesystem::remove_all(folder);
}

TEST(ClusterVersions, SameMajorAndNoNewerMinorAsKong) {
  EXPECT_EQ(version_problem("1.4.0", "1.4.2"), "");
  EXPECT_EQ(version_problem("1.2.9", "1.4.0"), "");  // an older minor is served
  EXPECT_EQ(version_problem("1.5.0", "1.4.0"),
            "data plane version 1.5.0 is incompatible with older control plane version 1.4.0");
  EXPECT_EQ(version_problem("2.0.0", "1.4.0"),
            "data plane version 2.0.0 is incompatible with control plane version 1.4.0 (1.x.y are accepted)");
  EXPECT_NE(version_problem("banana", "1.4.0"), "");
}

}  // namespace
}  // namespace portico::cluster
