// Between the store's rows and the configuration model.
//
// A row's body is an entity as the loader reads it from a declarative file (Kong's field
// names, references to other entities as {"id": ...}), so the store's contents become a
// DeclarativeConfig by the same loader, with the same validation, as a kong.yml does: there
// is one reader of entities, whether they come from a file or from the Admin API.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "store/store.hpp"

namespace portico::store {

// The store kinds (Kong's table names), in the order a declarative document lists them.
inline constexpr const char* kKinds[] = {"services", "routes", "upstreams", "targets", "consumers",
                                         "keyauth_credentials", "basicauth_credentials", "jwt_secrets",
                                         "acls", "plugins", "certificates", "snis", "ca_certificates"};

// The id a row's body refers to in `ref` ({"service": {"id": "..."}}), or "".
std::string ref_id(const boost::json::object& body, std::string_view ref);

struct Composed {
  std::string text;        // a Kong 3.0 declarative document (JSON, which the YAML loader reads)
  std::string focus_path;  // where the entity with the focus id is in it ("routes[3]"), or ""
  std::vector<std::string> errors;  // rows that cannot be placed (a target without its upstream)
};

// The declarative document for `rows`; `focus_id` names an entity whose errors the caller
// wants to recognise (the one being written through the Admin API).
Composed compose(const std::vector<Entity>& rows, const std::string& focus_id = "");

// compose() and load: the configuration the rows make, or the loader's errors.
config::LoadResult load_rows(const std::vector<Entity>& rows, const std::string& focus_id = "",
                             std::string* focus_path = nullptr);

// The rows a loaded configuration is stored as (`portico config db_import`): each entity as
// config/export.hpp writes it, ids kept (the loader gave every entity one), basic-auth
// passwords as their hashes.
// A certificate's row body: the certificate without its `snis` (those are rows of their own).
boost::json::object certificate_row_body(const config::CertificateConfig& cert, const config::DeclarativeConfig& c);

std::vector<Entity> rows_from_config(const config::DeclarativeConfig& c, std::int64_t now);

}  // namespace portico::store
