// The file-log plugin (Kong's, priority 9): one JSON line per request (Kong's serialized log
// record, plugin/log_serializer.hpp) appended to `path`. Lines are queued by the workers and
// written by the file's own thread once a second (file_sink.hpp). See README.md.
#include <memory>

#include "plugin/config_schema.hpp"
#include "plugin/log_serializer.hpp"
#include "plugin/request_context.hpp"
#include "plugins/file-log/file_sink.hpp"
#include "proxy/shared_state.hpp"

namespace portico::plugin {
namespace {

struct FileLogConfig : ParsedConfig {
  std::string path;
  bool reopen = false;
  std::vector<std::pair<std::string, std::string>> custom_fields_by_lua;
};

// Kong's pattern for `path`: no leading or trailing whitespace, none of * & % \ `.
bool valid_log_path(const std::string& path) {
  if (path.size() < 2 || std::isspace(static_cast<unsigned char>(path.front())) ||
      std::isspace(static_cast<unsigned char>(path.back()))) {
    return false;
  }
  return path.find_first_of("*&%\\`") == std::string::npos;
}

const ConfigSchema& config_schema() {
  using C = FileLogConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("path", &C::path, {.required = true})
          .field("reopen", &C::reopen)
          .field("custom_fields_by_lua", &C::custom_fields_by_lua)
          .check([](const C& c, schema::Errors& errors) {
            if (!c.path.empty() && !valid_log_path(c.path)) errors.push_back({"path", "not a valid filename"});
            if (!c.custom_fields_by_lua.empty()) {
              errors.push_back({"custom_fields_by_lua", "Lua code is not supported by Portico"});
            }
          }));
  return schema;
}

std::shared_ptr<const Instance> instantiate(const ParsedConfig& parsed, BuildContext& build) {
  const auto& c = static_cast<const FileLogConfig&>(parsed);
  // One writer per file, shared by every entry (and reload) naming it.
  auto sink = build.shared.plugin_state<plugins::file_log::FileSink>(
      "file-log|" + c.path + "|" + (c.reopen ? "reopen" : "keep"),
      [&] { return std::make_shared<plugins::file_log::FileSink>(c.path, c.reopen); });
  return std::make_shared<RecordLogger<plugins::file_log::FileSink>>(build.config, std::move(sink));
}

}  // namespace

const Schema& file_log_schema() {
  static const Schema schema{
      .name = "file-log",
      .priority = 9,  // Kong's
      .phases = kLog,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate,
  };
  return schema;
}

}  // namespace portico::plugin
