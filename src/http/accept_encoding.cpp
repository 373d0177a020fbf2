#include "http/accept_encoding.hpp"

#include <algorithm>

#include "http/header_view.hpp"

namespace portico::http {
namespace {

// "q=0.5" (RFC 9110 12.4.2: 0 to 1, at most three decimals); -1 when malformed.
double parse_q(std::string_view params) {
  double q = 1.0;
  while (!params.empty()) {
    std::size_t semi = params.find(';');
    std::string_view param = trim_ows(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
    std::string_view v = param.substr(2);
    if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
    q = v[0] - '0';
    if (v.size() > 1) {
      if (v[1] != '.' || v.size() > 5) return -1;
      double scale = 0.1;
      for (char c : v.substr(2)) {
        if (c < '0' || c > '9') return -1;
        q += (c - '0') * scale;
        scale /= 10;
      }
      if (q > 1.0) return -1;
    }
  }
  return q;
}

}  // namespace

double encoding_q(std::string_view accept_encoding, std::string_view coding) {
  double own = -1, star = -1;
  for_each_list_item(accept_encoding, [&](std::string_view item) {
    std::size_t semi = item.find(';');
    std::string_view name = trim_ows(item.substr(0, semi));
    double q = parse_q(semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1));
    if (q < 0) q = 0;
    if (iequals(name, coding) || (iequals(coding, "gzip") && iequals(name, "x-gzip"))) own = own < 0 ? q : std::max(own, q);
    else if (name == "*") star = q;
  });
  if (own >= 0) return own;
  if (star >= 0) return star;
  return iequals(coding, "identity") ? 1.0 : 0.0;
}

}  // namespace portico::http
