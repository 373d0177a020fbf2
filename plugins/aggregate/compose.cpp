#include "plugins/aggregate/compose.hpp"

#include <boost/json.hpp>

#include "plugin/calls/pointer.hpp"
#include "plugins/aggregate/shape.hpp"

namespace portico::plugins::aggregate {

namespace json = boost::json;

json::value shape_part(const BackendConfig& b, json::value body) {
  if (!b.select.empty()) {
    auto selected = calls::select(body, b.select);
    body = selected ? std::move(*selected) : json::value(nullptr);
  }
  if (!b.allow_paths.empty()) keep_only(body, b.allow_paths);
  if (!b.deny_paths.empty()) remove(body, b.deny_paths);
  if (!b.renames.empty()) rename(body, b.renames);
  if (b.reduce_how != Reduce::none) body = reduce(std::move(body), b.reduce_how);
  return body;
}

Composed compose(const AggregateConfig& config, std::vector<BackendOutcome>& outcomes) {
  Composed out;
  // The failure reported is the first required one (in configuration order) that failed on
  // its own, not one cut short because of it.
  bool own_failure = false;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const BackendOutcome& o = outcomes[i];
    if (config.backends[i].required && o.state != BackendOutcome::State::ok && !o.abandoned) own_failure = true;
  }
  json::object answer;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const BackendConfig& b = config.backends[i];
    BackendOutcome& o = outcomes[i];
    json::value part;
    if (o.state == BackendOutcome::State::ok) {
      part = shape_part(b, std::move(o.body));
    } else if (b.required && (!o.abandoned || !own_failure)) {
      bool timed_out = o.state == BackendOutcome::State::timed_out;
      out.status = timed_out ? 504 : 502;
      out.completed = false;
      out.body = json::serialize(json::object{
          {"message", "backend '" + b.name + "' " +
                          (timed_out ? (o.error == "timed out" ? std::string("timed out") : "timed out: " + o.error)
                                     : "failed: " + o.error)},
          {"backend", b.name}});
      return out;
    } else {
      out.completed = false;
      if (config.on_error != "null") continue;  // omit
    }
    json::object* into = &answer;
    if (!b.group.empty()) {
      json::value& group = answer[b.group];
      if (!group.is_object()) group = json::object();
      into = &group.get_object();
    }
    (*into)[b.name] = std::move(part);
  }
  out.body = json::serialize(answer);
  return out;
}

}  // namespace portico::plugins::aggregate
