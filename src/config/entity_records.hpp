// Kong's entities declared once (schema/record.hpp), as plugin configs are: the loader reads
// them from kong.yml with these records (file:line:col errors), the Admin API reads its bodies
// with them (Kong's form conventions, `fields` errors) and /schemas/{entity} describes them.
// References to other entities (a route's service, nested routes and plugins) are the
// loader's and the Admin API's business, not the records'.
//
#pragma once

#include "config/model.hpp"
#include "schema/record.hpp"

namespace portico::config {

const schema::Record<ServiceConfig>& service_record();
const schema::Record<RouteConfig>& route_record();
const schema::Record<ConsumerConfig>& consumer_record();
const schema::Record<KeyAuthCredential>& keyauth_record();
const schema::Record<BasicAuthCredential>& basicauth_record();  // hashes the password it is given
const schema::Record<JwtSecret>& jwt_secret_record();
const schema::Record<AclGroup>& acl_record();
const schema::Record<UpstreamConfig>& upstream_record();  // with its healthchecks; targets apart
const schema::Record<TargetConfig>& target_record();      // splits `target` into host and port
// Checks the PEM text (Kong's messages: "invalid certificate: ...", "certificate does not match key").
const schema::Record<CertificateConfig>& certificate_record();
const schema::Record<SniConfig>& sni_record();
// Kong's ca_certificates: one CA certificate (its checks and messages); cert_digest derived.
const schema::Record<CaCertificateConfig>& ca_certificate_record();  // the name; its certificate is a reference

// Kong's wildcard_host check of an SNI name: "" when valid, else the message.
std::string sni_name_problem(const std::string& name);

}  // namespace portico::config
