#include "obs/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace portico::obs {

std::string prometheus_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(value));
    return std::string(buf, r.ptr);
  }
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  for (char c : help) {  // HELP escapes only '\' and newlines
    if (c == '\\') out_.append("\\\\");
    else if (c == '\n') out_.append("\\n");
    else out_ += c;
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::series_name(std::string_view name, std::span<const Label> labels, std::string_view extra_name,
                                 std::string_view extra_value) {
  out_.append(name);
  if (labels.empty() && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  auto label = [&](std::string_view n, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_.append(n).append("=\"");
    for (char c : v) {  // label values escape '\', '"' and newlines
      if (c == '\\') out_.append("\\\\");
      else if (c == '"') out_.append("\\\"");
      else if (c == '\n') out_.append("\\n");
      else out_ += c;
    }
    out_ += '"';
  };
  for (const auto& [n, v] : labels) label(n, v);
  if (!extra_name.empty()) label(extra_name, extra_value);
  out_ += '}';
}

void PrometheusText::sample(std::string_view name, std::span<const Label> labels, double value) {
  series_name(name, labels);
  out_.append(" ").append(prometheus_number(value)).append("\n");
}

void PrometheusText::sample(std::string_view name, std::span<const Label> labels, std::uint64_t value) {
  series_name(name, labels);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(" ").append(buf, r.ptr).append("\n");
}

void PrometheusText::histogram(std::string_view name, std::span<const Label> labels, std::span<const double> bounds,
                               std::span<const std::uint64_t> counts, double sum) {
  std::string bucket_name = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  char buf[24];
  for (std::size_t i = 0; i <= bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string le = i < bounds.size() ? prometheus_number(bounds[i]) : "+Inf";
    series_name(bucket_name, labels, "le", le);
    auto r = std::to_chars(buf, buf + sizeof buf, cumulative);
    out_.append(" ").append(buf, r.ptr).append("\n");
  }
  sample(std::string(name) + "_sum", labels, sum);
  sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace portico::obs
