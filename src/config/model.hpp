// The configuration entities, as read from a Kong 3.x declarative file. Plain data: the
// loader fills them, the snapshot builder compiles them. Field names and defaults are Kong's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portico::config {

// Where an entity or field was written, for error messages.
struct SourceMark {
  int line = 0;    // 1-based; 0 when unknown (e.g. admin API)
  int column = 0;  // 1-based
};

struct ServiceConfig {
  std::string id;
  std::string name;
  std::string protocol = "http";
  std::string host;
  int port = 80;
  std::string path;  // empty: none (Kong's null), proxied as "/"
  int retries = 5;
  int connect_timeout_ms = 60000;
  int write_timeout_ms = 60000;
  int read_timeout_ms = 60000;
  bool enabled = true;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct RouteConfig {
  std::string id;
  std::string name;
  std::size_t service_index = 0;  // into DeclarativeConfig::services
  std::vector<std::string> protocols{"http", "https"};
  std::vector<std::string> methods;
  std::vector<std::string> hosts;
  std::vector<std::string> paths;
  // Header name (lowercased) -> accepted values; "~*" prefix marks a regex.
  std::map<std::string, std::vector<std::string>> headers;
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  std::string path_handling = "v0";
  int https_redirect_status_code = 426;
  bool request_buffering = true;
  bool response_buffering = true;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct TargetConfig {
  std::string target;  // host:port
  std::string host;
  int port = 8000;
  int weight = 100;
  std::vector<std::string> tags;
  SourceMark mark;
};

struct UpstreamConfig {
  std::string id;
  std::string name;
  std::string algorithm = "round-robin";
  int slots = 10000;
  std::string host_header;
  std::vector<TargetConfig> targets;
  std::vector<std::string> tags;
  SourceMark mark;
};

// A whole declarative configuration, validated.
struct DeclarativeConfig {
  std::string format_version;
  std::vector<ServiceConfig> services;
  std::vector<RouteConfig> routes;
  std::vector<UpstreamConfig> upstreams;
  std::string hash;  // MD5 of the source text, as Kong's configuration_hash
};

// One configuration error: FILE:LINE:COL: path.to.field: message
struct ConfigError {
  std::string file;
  SourceMark mark;
  std::string path;
  std::string message;
  std::string to_string() const;
};

}  // namespace portico::config
