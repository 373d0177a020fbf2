#include "plugins/aggregate/config.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "plugin/calls/pointer.hpp"
#include "plugin/calls/outgoing.hpp"

namespace portico::plugins::aggregate {
namespace {

using schema::Errors;

const std::set<std::string, std::less<>> kSources = {"query", "path", "header", "jwt", "consumer", "body"};

std::string at(std::size_t i, std::string_view field) {
  return "backends[" + std::to_string(i) + "]" + (field.empty() ? "" : ".") + std::string(field);
}

void parse_templates(BackendConfig& b, std::size_t i, Errors& errors) {
  std::string error;
  bool by_url = !b.url.empty();
  std::string_view field = by_url ? "url" : "path";
  if (auto t = Template::parse(by_url ? b.url : (b.path.empty() ? "/" : b.path), error)) b.target = std::move(*t);
  else errors.push_back({at(i, field), error});
  if (!b.body.empty()) {
    if (auto t = Template::parse(b.body, error)) b.body_template = std::move(*t);
    else errors.push_back({at(i, "body"), error});
  }
}

void check_references(const BackendConfig& b, std::size_t i, const std::set<std::string, std::less<>>& names,
                      Errors& errors) {
  auto check = [&](const Template& t, std::string_view field) {
    for (const auto& ref : t.references()) {
      if (kSources.count(ref.source) != 0) {
        if (ref.source == "consumer" && ref.name != "id" && ref.name != "username") {
          errors.push_back({at(i, field), ref.text() + ": a consumer has only id and username"});
        }
        continue;
      }
      if (names.count(ref.source) == 0) {
        errors.push_back({at(i, field), "unknown template source '" + ref.source + "' in " + ref.text() +
                                            " (query, path, header, jwt, consumer, body, or a backend in depends_on)"});
      } else if (std::find(b.depends_on.begin(), b.depends_on.end(), ref.source) == b.depends_on.end()) {
        errors.push_back({at(i, field), ref.text() + " reads backend '" + ref.source + "', which is not in depends_on"});
      }
    }
  };
  check(b.target, b.url.empty() ? "path" : "url");
  if (b.body_template) check(*b.body_template, "body");
}

void read_shaping(BackendConfig& b, std::size_t i, Errors& errors) {
  std::string error;
  auto paths = [&](const std::vector<std::string>& texts, std::vector<FieldPath>& out, std::string_view field) {
    for (std::size_t k = 0; k < texts.size(); ++k) {
      if (auto p = FieldPath::parse(texts[k], error)) out.push_back(std::move(*p));
      else errors.push_back({at(i, field) + "[" + std::to_string(k) + "]", error});
    }
  };
  paths(b.allow, b.allow_paths, "allow");
  paths(b.deny, b.deny_paths, "deny");
  for (const auto& [from, to] : b.rename) {
    if (auto p = FieldPath::parse(from, error)) b.renames.emplace_back(std::move(*p), to);
    else errors.push_back({at(i, "rename." + from), error});
  }
  if (!b.select.empty() && !calls::valid_pointer(b.select)) {
    errors.push_back({at(i, "select"), "not a JSON pointer (\"/data/items\")"});
  }
  b.reduce_how = b.reduce == "count" ? Reduce::count : b.reduce == "first" ? Reduce::first : Reduce::none;
}

// The backends ordered so that each follows what it depends on; a cycle is reported.
void order_backends(AggregateConfig& c, const std::map<std::string, std::size_t, std::less<>>& index, Errors& errors) {
  enum Mark { unvisited, visiting, done };
  std::vector<Mark> marks(c.backends.size(), unvisited);
  std::vector<std::string> trail;
  std::function<bool(std::size_t)> visit = [&](std::size_t i) {
    if (marks[i] == done) return true;
    if (marks[i] == visiting) {
      std::string cycle;
      auto from = std::find(trail.begin(), trail.end(), c.backends[i].name);
      for (auto it = from; it != trail.end(); ++it) cycle += *it + " -> ";
      errors.push_back({at(i, "depends_on"), "cycle in depends_on: " + cycle + c.backends[i].name});
      return false;
    }
    marks[i] = visiting;
    trail.push_back(c.backends[i].name);
    for (const auto& dep : c.backends[i].depends_on) {
      auto it = index.find(dep);
      if (it != index.end() && !visit(it->second)) return false;
    }
    trail.pop_back();
    marks[i] = done;
    c.order.push_back(i);
    return true;
  };
  for (std::size_t i = 0; i < c.backends.size(); ++i) {
    if (!visit(i)) return;
  }
}

void finish(AggregateConfig& c, Errors& errors) {
  calls::check_forward_headers(c.forward_headers, "forward_headers", errors);
  if (static_cast<int>(c.backends.size()) > c.max_backends) {
    errors.push_back({"backends", "more than max_backends (" + std::to_string(c.max_backends) + ") backends"});
    return;
  }
  std::map<std::string, std::size_t, std::less<>> index;
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < c.backends.size(); ++i) {
    BackendConfig& b = c.backends[i];
    if (kSources.count(b.name) != 0) {
      errors.push_back({at(i, "name"), "'" + b.name + "' is a template source; name the backend otherwise"});
    } else if (!index.emplace(b.name, i).second) {
      errors.push_back({at(i, "name"), "duplicate backend name '" + b.name + "'"});
    }
    names.insert(b.name);
    if (b.url.empty() == b.service.empty()) {
      errors.push_back({at(i, ""), b.url.empty() ? "either url or service is required" : "url and service are exclusive"});
      continue;
    }
    if (!b.url.empty()) {
      if (!b.path.empty()) errors.push_back({at(i, "path"), "path goes with service (a url has its own)"});
      if (std::string e = calls::check_url(b.url); !e.empty()) errors.push_back({at(i, "url"), e});
    }
    if (!b.body.empty() && b.method != "POST" && b.method != "PUT" && b.method != "PATCH") {
      errors.push_back({at(i, "body"), "a body goes with POST, PUT or PATCH"});
    }
    parse_templates(b, i, errors);
    read_shaping(b, i, errors);
    calls::check_forward_headers(b.forward_headers, at(i, "forward_headers"), errors);
  }
  for (std::size_t i = 0; i < c.backends.size(); ++i) {
    const std::string& group = c.backends[i].group;
    if (!group.empty() && index.count(group) != 0 && c.backends[index.at(group)].group.empty()) {
      errors.push_back({at(i, "group"), "group '" + group + "' is also the key of backend '" + group + "'"});
    }
    for (const auto& dep : c.backends[i].depends_on) {
      if (names.count(dep) == 0) errors.push_back({at(i, "depends_on"), "unknown backend '" + dep + "'"});
    }
    check_references(c.backends[i], i, names, errors);
  }
  if (errors.empty()) order_backends(c, index, errors);
}

}  // namespace

const plugin::ConfigSchema& aggregate_config_schema() {
  using C = AggregateConfig;
  using B = BackendConfig;
  static const schema::Record<B> backend = [] {
    schema::Record<B> r;
    r.field("name", &B::name, {.required = true, .len_min = 1})
        .field("url", &B::url, {.nullable = true})
        .field("service", &B::service, {.nullable = true})
        .field("path", &B::path, {.nullable = true})
        .field("method", &B::method, {.one_of = {"GET", "POST", "PUT", "PATCH", "DELETE"}})
        .field("body", &B::body, {.nullable = true})
        .field("required", &B::required)
        .field("timeout", &B::timeout, {.min = 1, .max = 600000, .nullable = true})
        .field("allow", &B::allow)
        .field("deny", &B::deny)
        .field("select", &B::select, {.nullable = true})
        .field("reduce", &B::reduce, {.one_of = {"count", "first"}, .nullable = true})
        .field("rename", &B::rename)
        .field("group", &B::group, {.nullable = true})
        .field("depends_on", &B::depends_on)
        .field("forward_headers", &B::forward_headers);
    return r;
  }();
  static const plugin::ConfigSchemaOf<C> schema([] {
    schema::Record<C> r;
    r.field("timeout", &C::timeout, {.min = 1, .max = 600000})
        .records<B>("backends", [](C& c) -> std::vector<B>& { return c.backends; }, backend, {.required = true, .len_min = 1})
        .field("on_error", &C::on_error, {.one_of = {"omit", "null"}})
        .field("max_backends", &C::max_backends, {.min = 1, .max = 256})
        .field("max_body_size", &C::max_body_size, {.min = 1, .max = 1073741824})
        .field("forward_headers", &C::forward_headers);
    r.finish([](C& c, const boost::json::object&, Errors& errors) { finish(c, errors); });
    return r;
  }());
  return schema;
}

}  // namespace portico::plugins::aggregate
