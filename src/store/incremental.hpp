// One change to the store, applied to the loaded configuration without loading the rest.
//
// The changed entity is validated by the loader in a small document holding it and what it
// refers to (a route and its service, a target and its upstream with its other targets, a
// plugin and its scope), then spliced into the current configuration; the checks
// that span the whole configuration (a plugin configured twice for one scope, a consumer's
// custom_id, references) are made against it. Deleting removes entities and renumbers the
// references to what follows them. The result equals what loading every row gives
// (declarative_test.cpp checks it over random sequences of changes), at a cost that grows with
// the change, not with the configuration.
#pragma once

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "store/store.hpp"

namespace portico::store {

struct Applied {
  std::vector<config::ConfigError> errors;  // paths under focus_path when about the entity
  std::string focus_path;                   // the entity's path in the errors ("routes[0]")
  bool ok() const { return errors.empty(); }
};

// `row` upserted into `config` (changed in place, and only when the result is ok()): `rows`
// are the store's rows before the change (`row` may replace one of them).
Applied apply_upsert(config::DeclarativeConfig& config, const std::vector<Entity>& rows, const Entity& row);

// The entities (kind, id) deleted from `config` (a change's deletes: children listed with
// their parents).
void apply_deletes(config::DeclarativeConfig& config, const std::vector<std::pair<std::string, std::string>>& deletes);

}  // namespace portico::store
