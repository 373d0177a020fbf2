// A plugin's `config`, declared once (schema/record.hpp) and used for everything: the
// declarative file (config/plugin_reader.cpp, errors with file:line:col), Admin API bodies
// (JSON and forms), the defaults in answers, and Kong's /schemas/plugins/{name}.
//
// A plugin writes its config struct (deriving ParsedConfig, defaults as member
// initializers) and one schema::Record<ItsConfig>, and points Schema::config at
//   static const ConfigSchemaOf<ItsConfig> kConfig(record);
// No plugin reads YAML or JSON itself.
#pragma once

#include <memory>
#include <string>

#include "plugin/plugin.hpp"
#include "schema/record.hpp"

namespace portico::plugin {

class ConfigSchema {
 public:
  virtual ~ConfigSchema() = default;
  // Validates `config` (null: every default) into a new config; errors under `prefix`.
  // Null when an error was added.
  virtual std::shared_ptr<ParsedConfig> read(const boost::json::value& config, schema::Errors& errors,
                                             schema::Input input, const std::string& prefix) const = 0;
  // The config with every default filled in, as the Admin API answers it.
  virtual boost::json::object write(const ParsedConfig& config) const = 0;
  // Kong's description of the config record.
  virtual boost::json::object describe() const = 0;
};

template <typename C>
class ConfigSchemaOf final : public ConfigSchema {
 public:
  explicit ConfigSchemaOf(schema::Record<C> record) : record_(std::move(record)) {}
  std::shared_ptr<ParsedConfig> read(const boost::json::value& config, schema::Errors& errors, schema::Input input,
                                     const std::string& prefix) const override {
    auto c = std::make_shared<C>();
    if (!record_.read(config, *c, errors, input, prefix)) return nullptr;
    return c;
  }
  boost::json::object write(const ParsedConfig& config) const override {
    return record_.write(static_cast<const C&>(config));
  }
  boost::json::object describe() const override { return record_.describe(); }

 private:
  schema::Record<C> record_;
};

}  // namespace portico::plugin
