// The compression plugin (Portico's; Kong has none in its open-source edition): encodes the
// service's answers with the best coding the client accepts (zstd, br or gzip, by the
// client's q-values, ties in the configured order), streamed as the body comes. See README.md.
//
//   response_headers:  picks the coding (or none): never for answers already encoded, without
//                      a body, partial (206), `Cache-Control: no-transform`, of a type not
//                      listed, or declared smaller than min_size; adds Content-Encoding and
//                      `Vary: Accept-Encoding`, makes a strong ETag weak; the proxy encodes.
#include <memory>

#include "http/accept_encoding.hpp"
#include "http/caching.hpp"
#include "http/compressor.hpp"
#include "http/header_view.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

const std::vector<std::string> kDefaultTypes = {
    "text/html", "text/css", "text/plain", "text/xml", "text/javascript", "text/csv", "text/markdown",
    "application/json", "application/javascript", "application/xml", "application/rss+xml",
    "application/atom+xml", "application/ld+json", "application/problem+json", "application/wasm",
    "image/svg+xml"};

struct CompressionConfig : ParsedConfig {
  std::vector<std::string> encodings = {"zstd", "br", "gzip"};
  std::vector<std::string> content_types = kDefaultTypes;
  int min_size = 256;
  int gzip_level = 6;
  int brotli_level = 4;
  int zstd_level = 3;
};

const ConfigSchema& config_schema() {
  using C = CompressionConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("encodings", &C::encodings, {.one_of = {"zstd", "br", "gzip"}, .len_min = 1})
          .field("content_types", &C::content_types, {.len_min = 1})
          .field("min_size", &C::min_size, {.min = 0})
          .field("gzip_level", &C::gzip_level, {.min = 1, .max = 9})
          .field("brotli_level", &C::brotli_level, {.min = 0, .max = 11})
          .field("zstd_level", &C::zstd_level, {.min = 1, .max = 19}));
  return schema;
}

http::Coding coding_of(std::string_view name) {
  return name == "zstd" ? http::Coding::zstd : name == "br" ? http::Coding::br : http::Coding::gzip;
}

class Compression final : public Instance {
 public:
  Compression(const CompressionConfig& config, BuildContext&) : min_size_(config.min_size) {
    for (const auto& e : config.encodings) codings_.push_back(coding_of(e));
    for (const auto& t : config.content_types) types_.push_back(http::ascii_lower(t));
    levels_[static_cast<int>(http::Coding::gzip)] = config.gzip_level;
    levels_[static_cast<int>(http::Coding::br)] = config.brotli_level;
    levels_[static_cast<int>(http::Coding::zstd)] = config.zstd_level;
  }

  void response_headers(RequestContext& ctx) const override {
    const http::ResponseHead* response = ctx.upstream_response();
    if (response == nullptr || !compressible(ctx, *response)) return;
    // From here the answer depends on Accept-Encoding, whether or not it is encoded.
    ctx.add_response_header("Vary", "Accept-Encoding");
    std::string_view accepted = ctx.request().find("Accept-Encoding");
    if (accepted.empty()) return;
    const http::Coding* best = nullptr;
    double best_q = 0;
    for (const auto& c : codings_) {
      double q = http::encoding_q(accepted, http::coding_name(c));
      if (q > best_q) best = &c, best_q = q;  // ties: the configured order
    }
    if (best == nullptr) return;
    ctx.compress_response(*best, levels_[static_cast<int>(*best)]);
    ctx.set_response_header("Content-Encoding", http::coding_name(*best));  // (an "identity" one replaced)
    std::string_view etag = response->find("ETag");
    if (!etag.empty() && !etag.starts_with("W/")) ctx.set_response_header("ETag", ctx.concat({"W/", etag}));
  }

 private:
  bool compressible(const RequestContext& ctx, const http::ResponseHead& r) const {
    if (ctx.request().method == "HEAD" || r.status < 200 || r.status == 204 || r.status == 206 || r.status == 304) {
      return false;
    }
    if (r.framing == http::BodyFraming::none) return false;
    std::string_view coding = r.find("Content-Encoding");
    if (!coding.empty() && !http::iequals(coding, "identity")) return false;  // never encoded twice
    if (r.has("Content-Range")) return false;
    bool no_transform = false;
    for (const auto& h : r.headers) {
      if (!http::iequals(h.name, "Cache-Control")) continue;
      http::for_each_list_item(h.value, [&](std::string_view d) { no_transform |= http::iequals(d, "no-transform"); });
    }
    if (no_transform) return false;
    if (r.framing == http::BodyFraming::content_length && r.content_length < static_cast<std::uint64_t>(min_size_)) {
      return false;
    }
    std::string type = http::media_type_essence(r.find("Content-Type"));
    for (const auto& t : types_) {
      if (t == type) return true;
    }
    return false;
  }

  int min_size_;
  std::vector<http::Coding> codings_;
  std::vector<std::string> types_;
  int levels_[3] = {6, 4, 3};
};

}  // namespace

const Schema& compression_schema() {
  static const Schema schema{
      .name = "compression",
      .priority = 750,  // Portico's: after response-transformer (800) in the response phases' order
      .phases = kResponseHeaders,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<Compression, CompressionConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
