// The configuration model back into Kong's JSON shapes: what the Admin API answers (every
// default filled in, Kong's nulls for unset fields) and what `GET /config` and
// `portico config db_export` write (the same entities, nulls dropped, as Kong's
// declarative export does). What these functions write, the loader reads back into the
// same model (export then import is the identity; tests/unit: export_test.cpp).
#pragma once

#include <boost/json.hpp>

#include "config/model.hpp"

namespace portico::config {

namespace json = boost::json;

json::object service_json(const ServiceConfig& s);
json::object route_json(const RouteConfig& r, const DeclarativeConfig& c);  // with "service": {"id"}
json::object plugin_json(const PluginEntry& p, const DeclarativeConfig& c);  // with its scope's ids
json::object consumer_json(const ConsumerConfig& k);
json::object keyauth_json(const KeyAuthCredential& k, const std::string& consumer_id);
json::object jwt_secret_json(const JwtSecret& j, const std::string& consumer_id);
json::object acl_json(const AclGroup& a, const std::string& consumer_id);
// The password only as its salted hash (`password_hash`), which the loader reads back.
json::object basicauth_json(const BasicAuthCredential& b, const std::string& consumer_id);
json::object upstream_json(const UpstreamConfig& u);                          // without its targets
json::object target_json(const TargetConfig& t, const std::string& upstream_id);
// A certificate with Kong's `snis` (its names, sorted); an SNI with {"certificate": {"id"}}.
json::object certificate_json(const CertificateConfig& cert, const DeclarativeConfig& c);
json::object sni_json(const SniConfig& s, const DeclarativeConfig& c);
json::object ca_certificate_json(const CaCertificateConfig& ca);
std::vector<std::string> sni_names(const DeclarativeConfig& c, const std::string& certificate_id);

// The whole configuration as a Kong 3.0 declarative document: top-level lists of services,
// routes, upstreams (targets nested), consumers, credentials (basic-auth passwords as their
// hashes), plugins and certificates (snis nested), entities referring to each other by id, nulls dropped.
json::object declarative_json(const DeclarativeConfig& c);

// declarative_json() as a YAML document (what db_export writes and GET /config answers).
std::string declarative_yaml(const DeclarativeConfig& c);

// `value` without the members that are null, recursively (arrays keep their elements).
json::value without_nulls(const json::value& value);

}  // namespace portico::config
