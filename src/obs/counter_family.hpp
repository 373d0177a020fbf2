// Labelled counters that plugins record on the request path and GET /metrics exposes under
// Portico's prefix (portico_rate_limiting_decisions_total{route,decision}...). Declared once,
// as function-local statics, and recorded per worker thread without a lock
// (sharded_series.hpp); a scrape merges the workers' series.
#pragma once

#include <boost/json/object.hpp>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "obs/sharded_series.hpp"
#include "obs/stats.hpp"

namespace portico::obs {

class PrometheusText;

class CounterFamily {
 public:
  // `name` is the full metric name (ending in _total); `labels` name the values add() takes.
  CounterFamily(std::string name, std::string help, std::vector<std::string> labels);
  void add(std::initializer_list<std::string_view> values, std::uint64_t n = 1) {
    if (Counter* c = series_.find(values)) c->add(n);
  }
  // Every family ever declared, merged over the workers, in declaration order.
  static void collect_all(PrometheusText& out);
  // The same as JSON (the dashboard's): {"<name>": [{"<label>": "<value>", ..., "value": n}]}.
  static boost::json::object json_all();

 private:
  void collect(PrometheusText& out) const;
  std::map<std::string, std::uint64_t> merged() const;  // by series key

  const std::string name_, help_;
  const std::vector<std::string> labels_;
  ShardedSeries<Counter> series_;
};

}  // namespace portico::obs
