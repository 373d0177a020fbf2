// The requests plugins send to services on a client's behalf (the aggregate plugin's backends,
// the graphql plugin's resolvers): where they go (a service of the configuration, or a URL
// whose host is written in the configuration) and the headers they carry (the identity the
// auth plugins set, X-Forwarded-*, and the client headers the configuration names).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "plugin/backend_client.hpp"
#include "schema/record.hpp"

namespace portico::plugin {
class RequestContext;
struct BuildContext;
}  // namespace portico::plugin

namespace portico::plugin::calls {

// "http://host[:port]/rest": the authority and the origin-form rest ("/" when empty).
struct SplitUrl {
  std::string host;
  int port = 80;
  std::string authority;  // as written: the Host header
  std::string rest;
};
SplitUrl split_url(std::string_view url);

// Why a configured URL cannot be called ("only http:// URLs", a host from a template...), or "".
std::string check_url(const std::string& url);

// The service named (by name or id), with its index in the configuration; nullptr if none.
const config::ServiceConfig* find_service(const config::DeclarativeConfig& config, const std::string& name, std::size_t& index);

// A URL's host as a destination: its addresses from the snapshot's DNS answers.
std::shared_ptr<FixedDestination> fixed_destination(const SplitUrl& url, BuildContext& build);

// Refuses, under `field`, header names the gateway writes itself (Host, Content-Length...).
void check_forward_headers(const std::vector<std::string>& names, const std::string& field, schema::Errors& errors);

// The identity headers the auth plugins set, X-Forwarded-*, Via, the request id, and the
// client headers named in `names`, as complete "Name: value\r\n" lines.
std::string forwarded_headers(const RequestContext& ctx, const std::vector<std::string>& names);
// The client's headers named in `names` (all their values), unless a plugin replaced or
// removed them (identity headers a client tried to set itself).
std::string copied_headers(const RequestContext& ctx, const std::vector<std::string>& names);

}  // namespace portico::plugin::calls
