// Writing Prometheus' text exposition format (version 0.0.4): families with their HELP and
// TYPE lines, label values escaped, histograms as cumulative _bucket / _sum / _count series.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace portico::obs {

using Label = std::pair<std::string_view, std::string_view>;  // name, value

class PrometheusText {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample: name{labels} value.
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::span<const Label> labels, std::uint64_t value);
  // A histogram's series: `counts[i]` observations fell in (bounds[i-1], bounds[i]], the last
  // count (counts.size() == bounds.size() + 1) above every bound; written cumulatively with
  // le="<bound>" and le="+Inf", then _sum and _count.
  void histogram(std::string_view name, std::span<const Label> labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series_name(std::string_view name, std::span<const Label> labels, std::string_view extra_name = {},
                   std::string_view extra_value = {});
  std::string out_;
};

// A number as Prometheus writes it: integers without a fraction, others shortest round-trip.
std::string prometheus_number(double value);

}  // namespace portico::obs
