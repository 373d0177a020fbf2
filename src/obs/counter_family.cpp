#include "obs/counter_family.hpp"

#include <map>
#include <mutex>

#include <boost/json.hpp>

#include "obs/prometheus_text.hpp"

namespace portico::obs {
namespace {

struct Families {
  std::mutex mutex;
  std::vector<const CounterFamily*> all;
};
Families& families() {
  static Families f;
  return f;
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {
  std::lock_guard lock(families().mutex);
  families().all.push_back(this);
}

void CounterFamily::collect_all(PrometheusText& out) {
  std::lock_guard lock(families().mutex);
  for (const auto* family : families().all) family->collect(out);
}

boost::json::object CounterFamily::json_all() {
  boost::json::object out;
  std::lock_guard lock(families().mutex);
  for (const auto* family : families().all) {
    boost::json::array samples;
    for (const auto& [key, value] : family->merged()) {
      auto values = split_series_key(key);
      boost::json::object sample;
      for (std::size_t i = 0; i < family->labels_.size() && i < values.size(); ++i) sample[family->labels_[i]] = values[i];
      sample["value"] = value;
      samples.emplace_back(std::move(sample));
    }
    out[family->name_] = std::move(samples);
  }
  return out;
}

std::map<std::string, std::uint64_t> CounterFamily::merged() const {
  std::map<std::string, std::uint64_t> merged;
  series_.for_each([&](std::string_view key, const Counter& c) { merged[std::string(key)] += c.get(); });
  return merged;
}

void CounterFamily::collect(PrometheusText& out) const {
  out.family(name_, "counter", help_);
  for (const auto& [key, value] : merged()) {
    auto values = split_series_key(key);
    std::vector<Label> labels;
    for (std::size_t i = 0; i < labels_.size() && i < values.size(); ++i) labels.emplace_back(labels_[i], values[i]);
    out.sample(name_, labels, value);
  }
}

}  // namespace portico::obs
