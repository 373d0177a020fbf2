#include "plugins/openid-connect/requirements.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace oc = portico::plugins::openid_connect;
namespace json = boost::json;

namespace {

json::object claims() {
  return json::parse(R"({"scope": "openid read write", "aud": ["api", "other"], "groups": "admins",
                         "realm_access": {"roles": ["editor", "viewer"]}})")
      .as_object();
}

bool meets(const char* claim, std::vector<std::string> required) {
  const json::object c = claims();
  return oc::meets(oc::claim_at(c, {claim}), required);
}

}  // namespace

TEST(OidcRequirements, SpaceSeparatedValuesAreAllRequiredAndEntriesAreAlternatives) {
  EXPECT_TRUE(meets("scope", {"read"}));
  EXPECT_TRUE(meets("scope", {"read write"}));
  EXPECT_FALSE(meets("scope", {"read admin"}));         // AND: admin missing
  EXPECT_TRUE(meets("scope", {"admin", "write"}));      // OR: write present
  EXPECT_FALSE(meets("scope", {"admin", "delete"}));
  EXPECT_FALSE(meets("scope", {"rea"}));                 // whole words only
  EXPECT_FALSE(meets("scope", {" "}));                   // an entry of no values never passes
}

TEST(OidcRequirements, ArraysAndStringsBothHoldValues) {
  EXPECT_TRUE(meets("aud", {"api"}));
  EXPECT_FALSE(meets("aud", {"ap"}));
  EXPECT_TRUE(meets("groups", {"admins"}));  // a single string is one value
  EXPECT_FALSE(meets("missing", {"x"}));
  EXPECT_TRUE(meets("missing", {}));          // nothing required
}

TEST(OidcRequirements, NestedClaimPaths) {
  const json::object c = claims();
  EXPECT_TRUE(oc::meets(oc::claim_at(c, {"realm_access", "roles"}), {"editor"}));
  EXPECT_FALSE(oc::meets(oc::claim_at(c, {"realm_access", "roles"}), {"owner"}));
  EXPECT_EQ(oc::claim_at(c, {"scope", "deeper"}), nullptr);  // a string has no members
}

TEST(OidcRequirements, TheFirstUnmetRequirementIsNamed) {
  const json::object c = claims();
  const std::vector<std::string> scope_path{"scope"}, aud_path{"aud"};
  const std::vector<std::string> scopes{"read"}, audiences{"billing"}, none;
  EXPECT_EQ(oc::unmet_requirement(c, {{"scopes", scope_path, scopes}, {"audience", aud_path, audiences}}), "audience");
  EXPECT_EQ(oc::unmet_requirement(c, {{"scopes", scope_path, scopes}, {"audience", aud_path, none}}), "");
}
