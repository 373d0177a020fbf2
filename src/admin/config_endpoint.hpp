// /config: the whole configuration at once (Kong's DB-less endpoint).
//   GET  /config                 {"config": "<the configuration as a Kong 3.0 declarative YAML document>"}
//   POST /config[?check_hash=1]  DB-less only: replaces the running configuration with the
//                                body's (a declarative document as JSON, or {"config": "<yaml or json text>"},
//                                or a form/multipart field `config`); 201 with the new
//                                configuration's entities, 304 when check_hash is set and the
//                                text's hash is the running one, 400 with every error when invalid
//                                (nothing changes then).
#pragma once

#include <functional>
#include <string>

#include "admin/exchange.hpp"
#include "config/model.hpp"

namespace portico::admin {

Reply get_config(const config::DeclarativeConfig& current);

using ActivateConfig = std::function<void(config::DeclarativeConfig config)>;
Reply post_config(const Request& request, const std::string& current_hash, const ActivateConfig& activate);

}  // namespace portico::admin
