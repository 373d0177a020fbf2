// The response-transformer plugin (Kong's, priority 800): edits the service's answer on its
// way to the client: header fields and JSON body members (remove, rename, replace, add,
// append, in that order, as Kong), with Portico's paths into nested JSON. See README.md.
//
//   upstream_request:  with JSON operations, asks the service only for encodings the plugin
//                      can read (gzip or none), so an encoded body is not passed on unread.
//   response_body:     a JSON body (by Content-Type, gzip decoded and encoded again) is read
//                      whole, edited in place (untouched parts byte for byte) and sent with
//                      its new length; a body that is not JSON goes on untouched (as Kong).
//   response_headers:  the header operations, against the fields the response had when the
//                      phase began (Kong's snapshot); a rewritten body's ETag made weak.
#include <algorithm>
#include <memory>
#include <spdlog/spdlog.h>

#include "http/accept_encoding.hpp"
#include "http/gzip.hpp"
#include "http/header_lines.hpp"
#include "json/json_edits.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugin/transform_entries.hpp"

namespace portico::plugin {
namespace {

struct Operations {
  std::vector<std::string> json, json_types, headers;
};

struct TransformerConfig : ParsedConfig {
  Operations remove, rename, replace, add, append;
  int max_body_size = -1;        // Portico's: bytes of body read whole; null: the gateway's limit
  std::string large_body = "fail";  // Portico's: a larger body is refused (502) or passed untouched
};

// Kong's record for one operation: `json` and `headers`, and `json_types` where values are typed.
schema::Record<Operations> operation_record(bool typed, bool rename) {
  auto header_check = rename ? check_header_rename : check_header_entry;
  schema::Record<Operations> r;
  r.field("json", &Operations::json, {.check = check_name_value});
  if (typed) r.field("json_types", &Operations::json_types, {.one_of = {"boolean", "number", "string"}});
  r.field("headers", &Operations::headers, {.check = header_check});
  return r;
}

const schema::Record<Operations>& remove_record() {
  static const auto r = schema::Record<Operations>()
                            .field("json", &Operations::json)
                            .field("headers", &Operations::headers, {.check = check_header_name});
  return r;
}
const schema::Record<Operations>& rename_record() {
  static const auto r = operation_record(false, true);
  return r;
}
const schema::Record<Operations>& typed_record() {
  static const auto r = operation_record(true, false);
  return r;
}

const ConfigSchema& config_schema() {
  using C = TransformerConfig;
  auto op = [](Operations C::*member) { return std::function<Operations&(C&)>([member](C& c) -> Operations& { return c.*member; }); };
  static const ConfigSchemaOf<C> schema(schema::Record<C>()
                                            .record("remove", op(&C::remove), remove_record())
                                            .record("rename", op(&C::rename), rename_record())
                                            .record("replace", op(&C::replace), typed_record())
                                            .record("add", op(&C::add), typed_record())
                                            .record("append", op(&C::append), typed_record())
                                            .field("max_body_size", &C::max_body_size, {.min = 1, .nullable = true})
                                            .field("large_body", &C::large_body, {.one_of = {"fail", "pass"}}));
  return schema;
}

struct HeaderOp {
  std::string name, value;
};
struct JsonOp {
  json_edit::Path path;
  std::string new_key;     // rename
  json_edit::Value value;  // replace, add, append
};

// Per request: whether this instance rewrote the body (its ETag then no longer holds).
struct RequestState {
  bool rewrote_body;
};

bool is_gzip(std::string_view coding) { return http::iequals(coding, "gzip") || http::iequals(coding, "x-gzip"); }

class ResponseTransformer final : public Instance {
 public:
  ResponseTransformer(const TransformerConfig& config, BuildContext& build) : scope_(build.scope_name) {
    for (const auto& name : config.remove.headers) remove_headers_.push_back(name);
    auto header_ops = [](const std::vector<std::string>& entries, std::vector<HeaderOp>& out) {
      for (const auto& e : entries) {
        NameValue nv = split_entry(e);
        if (!nv.value.empty()) out.push_back({std::string(nv.name), std::string(nv.value)});  // Kong: no value, no-op
      }
    };
    header_ops(config.rename.headers, rename_headers_);
    header_ops(config.replace.headers, replace_headers_);
    header_ops(config.add.headers, add_headers_);
    header_ops(config.append.headers, append_headers_);

    for (const auto& name : config.remove.json) remove_json_.push_back({json_edit::parse_path(name), {}, {}});
    for (const auto& e : config.rename.json) {
      NameValue nv = split_entry(e);
      rename_json_.push_back({json_edit::parse_path(nv.name), std::string(nv.value), {}});
    }
    // Values typed by json_types[i] (string by default); a "number" that is none is skipped, as Kong.
    auto typed = [](const Operations& ops, std::vector<JsonOp>& out) {
      for (std::size_t i = 0; i < ops.json.size(); ++i) {
        NameValue nv = split_entry(ops.json[i]);
        JsonOp op{json_edit::parse_path(nv.name), {}, {}};
        if (json_edit::typed_value(nv.value, i < ops.json_types.size() ? ops.json_types[i] : "string", op.value)) {
          out.push_back(std::move(op));
        }
      }
    };
    typed(config.replace, replace_json_);
    typed(config.add, add_json_);
    typed(config.append, append_json_);
    edits_json_ = !config.remove.json.empty() || !config.rename.json.empty() || !config.replace.json.empty() ||
                  !config.add.json.empty() || !config.append.json.empty();
    // The body is parsed only as deep as the operations reach (the rest is checked, not kept).
    for (const auto* ops : {&remove_json_, &rename_json_, &replace_json_, &add_json_, &append_json_}) {
      for (const auto& op : *ops) keep_depth_ = std::max(keep_depth_, json_edit::depth_to_keep(op.path));
    }
    need_.wanted = true;
    // Unset: the gateway's limit on bodies plugins read (--max-body-size, else 8 MiB); a gzip
    // body inflates up to the same size.
    need_.max_bytes = config.max_body_size > 0 ? static_cast<std::uint64_t>(config.max_body_size) : 0;
    inflate_limit_ = config.max_body_size > 0 ? static_cast<std::size_t>(config.max_body_size) : kDefaultLimit;
    need_.pass_when_larger = config.large_body == "pass";
  }

  // Without JSON operations there is no body to read and nothing to ask the service for.
  unsigned phases(unsigned declared) const override {
    return edits_json_ ? declared : declared & ~(kUpstreamRequest | kResponseBody);
  }

  void upstream_request(RequestContext& ctx) const override {
    if (!edits_json_) return;
    std::string_view accepted = ctx.request().find("Accept-Encoding");
    if (accepted.empty()) return;  // the service sends no encoding unasked
    ctx.upstream_headers().set("Accept-Encoding", http::encoding_q(accepted, "gzip") > 0 ? "gzip" : "identity");
  }

  BodyNeed response_body_need(const RequestContext& ctx) const override {
    const http::ResponseHead* response = ctx.upstream_response();
    if (!edits_json_ || response == nullptr || !is_json_content_type(content_type_after_headers(ctx))) return {};
    std::string_view coding = response->find("Content-Encoding");
    if (!coding.empty() && !http::iequals(coding, "identity") && !is_gzip(coding)) return {};  // cannot read it
    return need_;
  }

  void response_body(RequestContext& ctx, std::string& body) const override {
    const http::ResponseHead& response = *ctx.upstream_response();
    const bool gzipped = is_gzip(response.find("Content-Encoding"));
    std::string decoded;
    if (gzipped) {
      auto result = http::gunzip(body, decoded, inflate_limit_);
      if (result == http::GunzipResult::too_large) {
        too_large(ctx);
        return;
      }
      if (result != http::GunzipResult::ok) return;  // passed on as it came
    }
    json_edit::Document doc;
    if (!doc.parse(gzipped ? std::string_view(decoded) : std::string_view(body), json_edit::Document::kDefaultMaxValues,
                   keep_depth_)) {
      if (doc.too_many_values()) {
        too_large(ctx);  // more values than an editable document holds: as a body over the limit
        return;
      }
      spdlog::debug("response-transformer ({}): the body is not JSON ({}): passed on untouched", scope_, doc.error());
      return;
    }
    for (const auto& op : remove_json_) json_edit::remove(doc, op.path);
    for (const auto& op : rename_json_) json_edit::rename(doc, op.path, op.new_key, /*only_truthy=*/false);
    for (const auto& op : replace_json_) json_edit::replace(doc, op.path, op.value);
    for (const auto& op : add_json_) json_edit::add(doc, op.path, op.value);
    for (const auto& op : append_json_) json_edit::append(doc, op.path, op.value);
    if (!doc.changed()) return;
    std::string edited;
    edited.reserve(body.size() + 64);
    doc.write(edited);
    if (gzipped) http::gzip(edited, body);
    else body = std::move(edited);
    ctx.state<RequestState>(*this).rewrote_body = true;
  }

  void response_headers(RequestContext& ctx) const override {
    if (ctx.upstream_response() == nullptr) return;  // the gateway's own answers are not the service's
    // Existence is judged on the fields the response had when the phase began (Kong's snapshot).
    std::string_view added_before = ctx.response_headers();
    auto present = [&](std::string_view name) { return ctx.upstream_response()->has(name) || has_line(added_before, name); };
    for (const auto& name : remove_headers_) ctx.drop_response_header(name);
    for (const auto& op : rename_headers_) {
      if (http::iequals(op.name, op.value) || !present(op.name)) continue;
      std::vector<std::string> values = values_of(ctx, op.name);
      ctx.drop_response_header(op.value);
      ctx.drop_response_header(op.name);
      for (const auto& v : values) ctx.add_response_header(op.value, v);
    }
    for (const auto& op : replace_headers_) {
      if (present(op.name)) ctx.set_response_header(op.name, op.value);
    }
    for (const auto& op : add_headers_) {
      if (!present(op.name)) ctx.add_response_header(op.name, op.value);
    }
    for (const auto& op : append_headers_) ctx.add_response_header(op.name, op.value);
    auto* state = ctx.existing_state<RequestState>(*this);
    if (state != nullptr && state->rewrote_body) weaken_etag(ctx);
  }

 private:
  static constexpr std::size_t kDefaultLimit = 8 * 1024 * 1024;

  // A body too large to edit: refused (502), or passed on as it came (large_body: pass).
  void too_large(RequestContext& ctx) const {
    if (!need_.pass_when_larger) ctx.reply(502, "upstream response too large for the response_body plugins");
  }

  // The Content-Type the client will see, after this plugin's header operations (Kong tests
  // the live field, which plugins before it may have set: grpc-gateway's JSON); the body phase
  // runs before them here.
  std::string_view content_type_after_headers(const RequestContext& ctx) const {
    bool present = false;
    std::string_view type = ctx.response_header("Content-Type", present);
    for (const auto& name : remove_headers_) {
      if (http::iequals(name, "Content-Type")) type = {}, present = false;
    }
    for (const auto& op : replace_headers_) {
      if (present && http::iequals(op.name, "Content-Type")) type = op.value;
    }
    for (const auto& op : add_headers_) {
      if (!present && http::iequals(op.name, "Content-Type")) type = op.value, present = true;
    }
    return type;
  }

  static bool has_line(std::string_view lines, std::string_view name) {
    bool found = false;
    http::for_each_header_line(lines, [&](std::string_view field, std::string_view, std::string_view) {
      found = found || http::iequals(field, name);
    });
    return found;
  }

  // Every value of a field when the phase began (Kong's snapshot): the upstream's, then those
  // plugins added.
  static std::vector<std::string> values_of(const RequestContext& ctx, std::string_view name) {
    std::vector<std::string> values;
    for (const auto& h : ctx.upstream_response()->headers) {
      if (http::iequals(h.name, name)) values.emplace_back(h.value);
    }
    http::for_each_header_line(ctx.response_headers(), [&](std::string_view field, std::string_view value, std::string_view) {
      if (http::iequals(field, name)) values.emplace_back(value);
    });
    return values;
  }

  // RFC 9110 8.8.1: a strong validator promises identical bytes, which a rewritten body is not.
  static void weaken_etag(RequestContext& ctx) {
    std::string_view etag = ctx.upstream_response()->find("ETag");
    if (etag.empty() || etag.starts_with("W/") || ctx.drops_response_header("ETag")) return;
    ctx.set_response_header("ETag", ctx.concat({"W/", etag}));
  }

  std::string scope_;
  std::vector<std::string> remove_headers_;
  std::vector<HeaderOp> rename_headers_, replace_headers_, add_headers_, append_headers_;
  std::vector<JsonOp> remove_json_, rename_json_, replace_json_, add_json_, append_json_;
  std::size_t keep_depth_ = 0;  // how deep the JSON operations reach (Document::parse)
  bool edits_json_ = false;
  BodyNeed need_;
  std::size_t inflate_limit_ = kDefaultLimit;
};

}  // namespace

const Schema& response_transformer_schema() {
  static const Schema schema{
      .name = "response-transformer",
      .priority = 800,  // Kong's: after request-transformer (801)
      .phases = kUpstreamRequest | kResponseHeaders | kResponseBody,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<ResponseTransformer, TransformerConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
