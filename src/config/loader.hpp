// Reads a Kong 3.x declarative configuration (YAML or JSON) into DeclarativeConfig,
// collecting every error with its file, line, column and field path.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace portico::config {

struct LoadResult {
  DeclarativeConfig config;
  std::vector<ConfigError> errors;  // empty when the config is valid
  bool ok() const { return errors.empty(); }
};

// Parses `text` (named `file_name` in messages). Never throws.
LoadResult load_declarative_text(const std::string& text, const std::string& file_name);

// Reads and parses a file. A missing or unreadable file is reported as an error.
LoadResult load_declarative_file(const std::string& path);

// MD5 of `text` in hex: a configuration's hash, as Kong's configuration_hash.
std::string md5_hex(const std::string& text);

// Deterministic UUID-shaped id for an entity without one (Kong derives ids the same way
// for declarative configs, so restarts keep ids stable).
std::string derive_entity_id(const std::string& kind, const std::string& key);

}  // namespace portico::config
