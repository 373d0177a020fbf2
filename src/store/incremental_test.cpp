// The incremental path gives the configuration that loading every row gives.
#include "store/incremental.hpp"

#include <gtest/gtest.h>

#include "store/test_ca_certificate.hpp"

#include "config/export.hpp"
#include "net/tls.hpp"
#include "store/declarative.hpp"

namespace portico::store {
namespace {

namespace json = boost::json;

const char* kStart = R"(
_format_version: "3.0"
services:
- name: a
  url: http://127.0.0.1:9001
  routes:
  - name: a-route
    paths: [/a]
    plugins:
    - name: acl
      config: {allow: [gold]}
- name: b
  host: pool
upstreams:
- name: pool
  targets:
  - target: 127.0.0.1:9001
  - target: 127.0.0.1:9002
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
plugins:
- name: key-auth
  service: a
)";

class Incremental : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = config::load_declarative_text(kStart, "start.yml");
    ASSERT_TRUE(loaded.ok()) << loaded.errors[0].to_string();
    rows_ = rows_from_config(loaded.config, 100);
    auto again = load_rows(rows_);
    ASSERT_TRUE(again.ok());
    config_ = again.config;
  }
  std::string id_of(const std::string& kind, const std::string& name) {
    for (const auto& r : rows_) {
      if (r.kind == kind && (r.name == name || (r.name.empty() && r.body.find(name) != std::string::npos))) return r.id;
    }
    ADD_FAILURE() << "no " << kind << " " << name;
    return "";
  }
  // Upserts through the incremental path, then checks it against loading every row.
  void upsert(const std::string& kind, const std::string& id, const std::string& name, const std::string& body) {
    Entity row{kind, id, name, body, ++clock_, clock_};
    Applied applied = apply_upsert(config_, rows_, row);
    ASSERT_TRUE(applied.ok()) << kind << " " << body << ": " << applied.errors[0].to_string();
    bool replaced = false;
    for (auto& r : rows_) {
      if (r.id == id) {
        r.body = body;
        r.name = name;
        replaced = true;
      }
    }
    if (!replaced) rows_.push_back(row);
    expect_same_as_full_load(kind + " " + body);
  }
  void remove(std::vector<std::pair<std::string, std::string>> deletes) {
    apply_deletes(config_, deletes);
    for (const auto& [kind, id] : deletes) {
      std::erase_if(rows_, [&](const Entity& r) { return r.id == id; });
    }
    expect_same_as_full_load("delete");
  }
  void expect_same_as_full_load(const std::string& step) {
    auto full = load_rows(rows_);
    ASSERT_TRUE(full.ok()) << step << ": " << full.errors[0].to_string();
    EXPECT_EQ(json::serialize(config::declarative_json(config_)), json::serialize(config::declarative_json(full.config)))
        << step;
  }

  std::vector<Entity> rows_;
  config::DeclarativeConfig config_;
  std::int64_t clock_ = 100;
};

const std::string kS = "aaaaaaaa-0000-4000-8000-000000000001", kR = "aaaaaaaa-0000-4000-8000-000000000002",
                  kP = "aaaaaaaa-0000-4000-8000-000000000003", kC = "aaaaaaaa-0000-4000-8000-000000000004",
                  kK = "aaaaaaaa-0000-4000-8000-000000000005", kA = "aaaaaaaa-0000-4000-8000-000000000006",
                  kT = "aaaaaaaa-0000-4000-8000-000000000007";

TEST_F(Incremental, UpsertsAndDeletesEqualAFullLoad) {
  upsert("services", kS, "new", R"({"name":"new","host":"127.0.0.1","port":9100})");
  upsert("routes", kR, "new-route", R"({"name":"new-route","paths":["/new"],"service":{"id":")" + kS + R"("}})");
  upsert("plugins", kP, "", R"({"name":"key-auth","route":{"id":")" + kR + R"("},"config":{"key_names":["k"]}})");
  upsert("consumers", kC, "bob", R"({"username":"bob","custom_id":"B"})");
  upsert("keyauth_credentials", kK, "bob-key", R"({"key":"bob-key","consumer":{"id":")" + kC + R"("}})");
  upsert("acls", kA, "", R"({"group":"gold","consumer":{"id":")" + kC + R"("}})");
  // Replacements keep their place; a consumer keeps its credentials.
  upsert("services", id_of("services", "a"), "a", R"({"name":"a","host":"127.0.0.1","port":9009})");
  upsert("consumers", kC, "bob", R"({"username":"bob","custom_id":"B2","tags":["t"]})");
  std::string pool = id_of("upstreams", "pool");
  upsert("targets", kT, "", R"({"target":"127.0.0.1:9003","upstream":{"id":")" + pool + R"("}})");
  upsert("targets", id_of("targets", "127.0.0.1:9001"), "",
         R"({"target":"127.0.0.1:9001","weight":5,"upstream":{"id":")" + pool + R"("}})");
  upsert("upstreams", pool, "pool", R"({"name":"pool","slots":100})");
  upsert("plugins", kP, "", R"({"name":"key-auth","route":{"id":")" + kR + R"("},"config":{"key_names":["other"]}})");
  // Deletes renumber what follows: the new route's plugin, the first service's route.
  remove({{"plugins", id_of("plugins", "acl")}});
  remove({{"routes", id_of("routes", "a-route")}});
  remove({{"consumers", kC}, {"keyauth_credentials", kK}, {"acls", kA}});
  remove({{"plugins", kP}});
  remove({{"routes", kR}});
  remove({{"services", kS}});
  remove({{"targets", kT}});
  EXPECT_EQ(config_.services.size(), 2u);
  EXPECT_EQ(config_.consumers.size(), 1u);
}

TEST_F(Incremental, ErrorsNameTheEntityAndNothingChanges) {
  std::string before = json::serialize(config::declarative_json(config_));
  Applied bad = apply_upsert(config_, rows_, {"services", kS, "x", R"({"name":"x","host":"h","port":99999})", 1, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.focus_path, "services[0]");
  EXPECT_EQ(bad.errors[0].path, "services[0].port");
  // Whole-configuration checks: a second key-auth on service a.
  Applied twice = apply_upsert(config_, rows_,
                               {"plugins", kP, "", R"({"name":"key-auth","service":{"id":")" + id_of("services", "a") + R"("}})", 1, 1});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.errors[0].message.find("configured twice"), std::string::npos) << twice.errors[0].message;
  // A consumer's custom_id is unique.
  upsert("consumers", kC, "bob", R"({"username":"bob","custom_id":"B"})");
  Applied dup = apply_upsert(config_, rows_, {"consumers", kK, "carol", R"({"username":"carol","custom_id":"B"})", 1, 1});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.errors[0].path, dup.focus_path + ".custom_id");
  // Refused changes left the configuration as it was (bob aside, added above).
  std::erase_if(rows_, [](const Entity& r) { return r.id == kC; });
  apply_deletes(config_, {{"consumers", kC}});
  EXPECT_EQ(json::serialize(config::declarative_json(config_)), before);
}

TEST_F(Incremental, ThePluginsChecksSeeEveryConsumer) {
  // key-auth's anonymous names a consumer that is not the plugin's scope.
  upsert("plugins", kP, "",
         R"({"name":"key-auth","service":{"id":")" + id_of("services", "b") + R"("},"config":{"anonymous":"alice"}})");
  Applied ghost = apply_upsert(
      config_, rows_,
      {"plugins", kP, "", R"({"name":"key-auth","service":{"id":")" + id_of("services", "b") + R"("},"config":{"anonymous":"ghost"}})", 1, 1});
  ASSERT_FALSE(ghost.ok());
  EXPECT_NE(ghost.errors[0].message.find("ghost"), std::string::npos);
}

TEST_F(Incremental, TheHashChangesWithEveryChange) {
  std::string before = config_.hash;
  upsert("services", kS, "new", R"({"name":"new","host":"127.0.0.1"})");
  std::string after_upsert = config_.hash;
  EXPECT_NE(after_upsert, before);
  remove({{"services", kS}});
  EXPECT_NE(config_.hash, after_upsert);
  EXPECT_EQ(config_.hash.size(), 32u);
}


}  // namespace
}  // namespace portico::store

namespace portico::store {
namespace {

std::string certificate_body(const net::TlsCertificate& c) {
  return json::serialize(json::object{{"cert", c.cert_pem}, {"key", c.key_pem}});
}

TEST_F(Incremental, CertificatesAndTheirSnis) {
  const std::string kCert1 = "cccccccc-0000-4000-8000-000000000001", kCert2 = "cccccccc-0000-4000-8000-000000000002",
                    kSni1 = "cccccccc-0000-4000-8000-000000000003", kSni2 = "cccccccc-0000-4000-8000-000000000004",
                    kSni3 = "cccccccc-0000-4000-8000-000000000005";
  auto first = net::self_signed_certificate(), second = net::self_signed_certificate();
  upsert("certificates", kCert1, "", certificate_body(first));
  upsert("certificates", kCert2, "", certificate_body(second));
  upsert("snis", kSni1, "a.test", R"({"name":"a.test","certificate":{"id":")" + kCert1 + R"("}})");
  upsert("snis", kSni2, "*.b.test", R"({"name":"*.b.test","certificate":{"id":")" + kCert2 + R"("}})");
  upsert("snis", kSni3, "c.*", R"({"name":"c.*","certificate":{"id":")" + kCert2 + R"("}})");
  // An SNI moves to the other certificate; a certificate is replaced in place.
  upsert("snis", kSni1, "a.test", R"({"name":"a.test","certificate":{"id":")" + kCert2 + R"("}})");
  upsert("certificates", kCert1, "", certificate_body(second));
  ASSERT_EQ(config_.snis.size(), 3u);
  EXPECT_EQ(config_.certificates.at(config_.snis[0].certificate_index).id, kCert2);
  EXPECT_EQ(config::sni_names(config_, kCert2), (std::vector<std::string>{"*.b.test", "a.test", "c.*"}));
  // A name taken twice is refused, and nothing changes.
  Entity taken{"snis", "cccccccc-0000-4000-8000-000000000006", "a.test",
               R"({"name":"a.test","certificate":{"id":")" + kCert1 + R"("}})", 1, 1};
  Applied refused = apply_upsert(config_, rows_, taken);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.errors[0].message, "a.test is duplicated");
  // Deleting the first certificate renumbers the SNIs of the second.
  remove({{"certificates", kCert1}});
  for (const auto& sni : config_.snis) EXPECT_EQ(config_.certificates.at(sni.certificate_index).id, kCert2);
  remove({{"certificates", kCert2}, {"snis", kSni1}, {"snis", kSni2}, {"snis", kSni3}});
  EXPECT_TRUE(config_.snis.empty());
  EXPECT_TRUE(config_.certificates.empty());
}

using portico::store::testing::kTestCaPem;

// Kong's ca_certificates and an https service naming them (and a client certificate): the
// service's row brings what it refers to, routes and plugins on it load, deletes renumber.
TEST_F(Incremental, CaCertificatesAndHttpsServices) {
  const std::string kCa = "caaaaaaa-0000-4000-8000-000000000001", kClient = "caaaaaaa-0000-4000-8000-000000000002",
                    kService = "caaaaaaa-0000-4000-8000-000000000003", kRoute = "caaaaaaa-0000-4000-8000-000000000004";
  json::object ca{{"cert", kTestCaPem}};
  upsert("ca_certificates", kCa, "", json::serialize(ca));
  ASSERT_EQ(config_.ca_certificates.size(), 1u);
  EXPECT_EQ(config_.ca_certificates[0].cert_digest.size(), 64u);
  upsert("certificates", kClient, "", certificate_body(net::self_signed_certificate()));
  upsert("services", kService, "secure",
         R"({"name":"secure","protocol":"https","host":"h.test","port":443,"tls_verify":true,"tls_verify_depth":2,)"
         R"("ca_certificates":[")" + kCa + R"("],"client_certificate":{"id":")" + kClient + R"("}})");
  upsert("routes", kRoute, "", R"({"paths":["/s"],"service":{"id":")" + kService + R"("}})");
  const auto& svc = config_.services.back();
  EXPECT_EQ(svc.tls_verify, std::optional<bool>(true));
  EXPECT_EQ(svc.tls_verify_depth, 2);
  EXPECT_EQ(svc.ca_certificates, std::vector<std::string>{kCa});
  EXPECT_EQ(svc.client_certificate, kClient);
  // A service naming a CA certificate that is not there is refused.
  Entity dangling{"services", "caaaaaaa-0000-4000-8000-000000000005", "bad",
                  R"({"name":"bad","protocol":"https","host":"h","ca_certificates":["caaaaaaa-0000-4000-8000-00000000dead"]})", 1, 1};
  Applied refused = apply_upsert(config_, rows_, dangling);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.errors[0].message, "no ca_certificate with id 'caaaaaaa-0000-4000-8000-00000000dead'");
  remove({{"routes", kRoute}, {"services", kService}, {"ca_certificates", kCa}});
  EXPECT_TRUE(config_.ca_certificates.empty());
}

}  // namespace
}  // namespace portico::store
