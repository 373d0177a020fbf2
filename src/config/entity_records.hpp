// Kong's entities declared once (schema/record.hpp), as plugin configs are: the loader reads
// them from kong.yml with these records (file:line:col errors), the Admin API reads its bodies
// with them (Kong's form conventions, `fields` errors) and /schemas/{entity} describes them.
// References to other entities (a route's service, nested routes and plugins) are the
// loader's and the Admin API's business, not the records'.
//
// Done so far: services, routes, consumers and their credentials. Upstreams and targets are
// still read by their hand-written reader (config/upstream_reader.*).
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

}  // namespace portico::config
