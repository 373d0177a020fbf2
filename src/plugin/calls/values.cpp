#include "plugin/calls/values.hpp"

#include <boost/json.hpp>

#include "crypto/base64.hpp"
#include "http/params.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin::calls {

namespace json = boost::json;

std::optional<std::string> scalar_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      if (v.get_string().empty()) return std::nullopt;
      return std::string(v.get_string());
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
    case json::kind::bool_: return json::serialize(v);
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) return std::nullopt;
      std::string out;
      for (const auto& item : a) {
        if (item.is_array()) return std::nullopt;
        auto text = scalar_text(item);
        if (!text) return std::nullopt;
        if (!out.empty()) out += kItemSeparator;
        out += *text;
      }
      return out;
    }
    default: return std::nullopt;
  }
}

namespace {

// Walks `segments` from `at`; arrays map over their elements.
std::optional<json::value> walk(const json::value& at, const std::vector<std::string_view>& segments, std::size_t i) {
  if (i == segments.size()) return at;
  if (at.is_array()) {
    json::array out;
    for (const auto& item : at.get_array()) {
      if (auto v = walk(item, segments, i)) out.push_back(std::move(*v));
    }
    return json::value(std::move(out));
  }
  if (!at.is_object()) return std::nullopt;
  const json::value* next = at.get_object().if_contains(segments[i]);
  if (next == nullptr) return std::nullopt;
  return walk(*next, segments, i + 1);
}

}  // namespace

std::optional<json::value> value_at(const json::value& root, std::string_view dotted) {
  std::vector<std::string_view> segments;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    segments.push_back(dotted.substr(0, dot));
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  return walk(root, segments, 0);
}

bool is_client_source(std::string_view source) {
  return source == "query" || source == "path" || source == "header" || source == "jwt" || source == "consumer";
}

namespace {

std::optional<std::string> non_empty(std::string_view v) {
  if (v.empty()) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> query_argument(std::string_view query, std::string_view name) {
  std::optional<std::string> found;
  http::for_each_query_arg(query, [&](std::string_view key, std::string_view value) {
    if (found) return;
    std::string k, v;
    if (!http::percent_decode(key, k) || k != name) return;
    if (http::percent_decode(value, v) && !v.empty()) found = std::move(v);
  });
  return found;
}

// The verified token's claims, decoded once per request.
const json::value* token_claims(const plugin::RequestContext& ctx, std::optional<json::value>& claims) {
  if (!claims) {
    std::string payload;
    boost::system::error_code ec;
    json::value parsed;
    if (!ctx.verified_claims().empty() && crypto::base64url_decode(ctx.verified_claims(), payload)) {
      parsed = json::parse(payload, ec);
    }
    claims = ec ? json::value() : std::move(parsed);
  }
  return claims->is_object() ? &*claims : nullptr;
}

}  // namespace

std::optional<std::string> client_value(const plugin::RequestContext& ctx, const Reference& ref,
                                        std::optional<json::value>& claims) {
  if (ref.source == "query") return query_argument(ctx.request().query, ref.name);
  if (ref.source == "header") return non_empty(ctx.request().find(ref.name));
  if (ref.source == "path") {
    auto capture = ctx.path_capture(ref.name);
    return capture ? non_empty(*capture) : std::nullopt;
  }
  if (ref.source == "consumer") {
    const config::ConsumerConfig* consumer = ctx.consumer();
    if (consumer == nullptr) return std::nullopt;
    return non_empty(ref.name == "id" ? std::string_view(consumer->id) : std::string_view(consumer->username));
  }
  if (ref.source == "jwt") {
    const json::value* all = token_claims(ctx, claims);
    if (all == nullptr) return std::nullopt;
    auto v = value_at(*all, ref.name);
    return v ? scalar_text(*v) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace portico::plugin::calls
