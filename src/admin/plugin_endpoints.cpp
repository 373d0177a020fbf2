#include "admin/plugin_endpoints.hpp"

#include <boost/json.hpp>

#include "admin/body_readers.hpp"
#include "http/params.hpp"
#include "plugin/registry.hpp"

namespace portico::admin {

namespace json = boost::json;

bool match_endpoint_path(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  const char* path_end = path.data() + path.size();  // `path` shrinks to an empty (null) view below
  auto next = [](std::string_view& rest) {
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    std::size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    return segment;
  };
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') return false;
    std::string_view want = next(pattern), got = next(path);
    if (want.size() > 5 && want.front() == '{' && want.ends_with("...}") && pattern.empty()) {
      // The last placeholder may take the rest of the path, slashes included: "{path...}".
      std::string decoded;
      std::string_view rest(got.data(), static_cast<std::size_t>(path_end - got.data()));
      if (got.empty() || !http::percent_decode(rest, decoded, false)) return false;
      params.push_back(std::move(decoded));
      return true;
    }
    if (want.size() >= 2 && want.front() == '{' && want.back() == '}') {
      std::string decoded;
      if (got.empty() || !http::percent_decode(got, decoded, false)) return false;
      params.push_back(std::move(decoded));
    } else if (want != got) {
      return false;
    }
  }
  return true;
}

boost::asio::awaitable<std::optional<Reply>> plugin_endpoint(const Request& request,
                                                             std::shared_ptr<const config::Snapshot> snapshot) {
  std::vector<std::string> params;
  for (const plugin::Schema* schema : plugin::all_schemas()) {
    for (const auto& endpoint : schema->admin_endpoints) {
      if (!match_endpoint_path(endpoint.path, request.path, params)) continue;
      bool allowed = false;
      for (auto m : endpoint.methods) allowed = allowed || m == request.method;
      if (!allowed) co_return Reply{405, R"({"message":"Method not allowed"})"};
      // No body (a GET or DELETE sent with a Content-Type, as many clients do): an empty object.
      RequestBody body = request.body.empty() ? read_request_body("", "") : read_request_body(request.content_type, request.body);
      if (!body.value.ok()) {
        co_return Reply{body.status, json::serialize(json::object{{"message", body.value.error().message}})};
      }
      plugin::AdminCall call{request.method, params, request.query, *body.value, {}};
      if (snapshot) {
        const auto& entries = snapshot->config.plugins;
        for (std::size_t i = 0; i < entries.size(); ++i) {
          if (entries[i].name == schema->name) call.instances.emplace_back(&entries[i], snapshot->plugin_instances[i].get());
        }
      }
      plugin::AdminAnswer answer = co_await endpoint.handle(call);
      co_return Reply{answer.status, answer.body.is_null() ? std::string() : json::serialize(answer.body)};
    }
  }
  co_return std::nullopt;
}

}  // namespace portico::admin
