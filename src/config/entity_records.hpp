// Kong's entities declared once (schema/record.hpp), as plugin configs are: the loader reads
// them from kong.yml with these records (file:line:col errors), the Admin API reads its bodies
// with them (Kong's form conventions, `fields` errors) and /schemas/{entity} describes them.
// References to other entities (a route's service, nested routes and plugins) are the
// loader's and the Admin API's business, not the records'.
//
// Done so far: services and routes. Upstreams, targets, consumers and credentials are still
// read by their hand-written readers (config/upstream_reader.*, config/consumer_reader.*).
#pragma once

#include "config/model.hpp"
#include "schema/record.hpp"

namespace portico::config {

const schema::Record<ServiceConfig>& service_record();
const schema::Record<RouteConfig>& route_record();

}  // namespace portico::config
