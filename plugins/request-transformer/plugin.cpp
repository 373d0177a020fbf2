// The request-transformer plugin (Kong's, priority 801): edits the request before it goes to
// the service: its path (replace.uri), method, header fields, body (JSON, form-urlencoded,
// multipart) and query string, in Kong's order, with Kong's template values. See README.md.
//
//   access:        path, method, headers and query at once; with body operations on a body
//                  whose type they apply to (or a method change that moves a form body into
//                  the query), the body is read whole first (access_async), edited, and sent
//                  with its new Content-Length.
#include <algorithm>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>

#include "http/forms.hpp"
#include "http/header_view.hpp"
#include "http/params.hpp"
#include "json/json_edits.hpp"
#include "plugin/body_access.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugin/transform_entries.hpp"
#include "plugins/request-transformer/template.hpp"

namespace portico::plugin {
namespace {

using http::forms::Arg;
using plugins::request_transformer::Template;
namespace forms = http::forms;

struct Operations {
  std::vector<std::string> body, headers, querystring;
  std::string uri;  // replace only
};

struct TransformerConfig : ParsedConfig {
  std::string http_method;
  Operations remove, rename, replace, add, append;
};

// The methods Kong's set_method() accepts.
bool is_settable_method(std::string_view m) {
  for (std::string_view ok : {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND",
                              "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE"}) {
    if (m == ok) return true;
  }
  return false;
}

std::string template_problem(std::string_view value) {
  std::string error;
  if (Template::parse(value, error)) return {};
  return "value '" + std::string(value) + "' is not in supported format, error:" + error;
}

// Kong's check_for_value: a name with a value, the value a template Portico reads.
std::string check_for_value(const std::string& entry) {
  NameValue nv = split_entry(entry);
  if (nv.value.empty()) return "key '" + std::string(nv.name) + "' has no value";
  if (nv.name.empty()) return "invalid value: " + entry;
  return template_problem(nv.value);
}

std::string check_header_with_template(const std::string& entry) {
  if (auto problem = check_header_entry(entry); !problem.empty()) return problem;
  return template_problem(split_entry(entry).value);
}

std::string check_body_remove(const std::string&) { return {}; }

schema::Record<Operations> operation_record(bool is_remove, bool is_rename, bool with_uri) {
  schema::Record<Operations> r;
  auto values = is_remove ? check_body_remove : check_for_value;
  auto headers = is_remove ? check_header_name : is_rename ? check_header_rename : check_header_with_template;
  r.field("body", &Operations::body, {.check = values});
  r.field("headers", &Operations::headers, {.check = headers});
  r.field("querystring", &Operations::querystring, {.check = values});
  if (with_uri) {
    r.field("uri", &Operations::uri, {.nullable = true, .check = [](const std::string& uri) {
      return uri.empty() ? std::string() : template_problem(uri);
    }});
  }
  return r;
}

const ConfigSchema& config_schema() {
  using C = TransformerConfig;
  static const auto remove = operation_record(true, false, false);
  static const auto rename = operation_record(false, true, false);
  static const auto replace = operation_record(false, false, true);
  static const auto others = operation_record(false, false, false);
  auto op = [](Operations C::*member) { return std::function<Operations&(C&)>([member](C& c) -> Operations& { return c.*member; }); };
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("http_method", &C::http_method, {.nullable = true, .check = [](const std::string& m) -> std::string {
            if (m.empty()) return {};
            bool upper = std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
            if (!upper) return "invalid value: " + m;
            if (!is_settable_method(m)) return "invalid method: " + m;
            if (m == "HEAD") return "HEAD cannot be set: the answer's framing depends on the method the client sent";
            return {};
          }})
          .record("remove", op(&C::remove), remove)
          .record("rename", op(&C::rename), rename)
          .record("replace", op(&C::replace), replace)
          .record("add", op(&C::add), others)
          .record("append", op(&C::append), others));
  return schema;
}

// A configured "name:value" with its value compiled.
struct Entry {
  std::string name;
  Template value;
};

enum class BodyKind { none, json, multipart, form };

// Kong's test of the body type: a case-insensitive substring search, in this order.
BodyKind body_kind(std::string_view content_type) {
  auto contains = [&](std::string_view needle) {
    if (content_type.size() < needle.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= content_type.size(); ++i) {
      if (http::iequals(content_type.substr(i, needle.size()), needle)) return true;
    }
    return false;
  };
  if (contains("application/json")) return BodyKind::json;
  if (contains("multipart/form-data")) return BodyKind::multipart;
  if (contains("application/x-www-form-urlencoded")) return BodyKind::form;
  return BodyKind::none;
}

// Characters Kong's set_path leaves as they are; the rest is percent-encoded.
constexpr std::string_view kPathKeeps = "!#$&'()*+,/:;=?@[]-_.~%";

// Header fields as the operations leave them: only the names an operation touched, with the
// values the service gets (none: removed). Kong's working table, for the touched names.
class HeaderTable {
 public:
  // Seeded from the request as the service would get it so far: the client's fields with the
  // edits of plugins that ran before (an auth plugin's hidden credential stays hidden, its
  // X-Consumer-* stay its own).
  HeaderTable(const http::RequestHead& request, const HeaderEdits& edits) : request_(request), edits_(edits) {}
  bool present(std::string_view name) { return !slot(name).values.empty(); }
  std::vector<std::string>& values(std::string_view name) { return slot(name).values; }
  void set(std::string_view name, std::vector<std::string> values) {
    Slot& s = slot(name);
    s.shown = std::string(name);
    s.values = std::move(values);
    s.changed = true;
  }
  void write(HeaderEdits& edits, RequestContext& ctx) const {
    for (const auto& s : slots_) {
      if (!s.changed) continue;  // only looked at
      std::string_view name = ctx.store(s.shown);
      if (s.values.empty()) {
        edits.remove(name);
        continue;
      }
      edits.set(name, ctx.store(s.values[0]));
      for (std::size_t i = 1; i < s.values.size(); ++i) edits.add(name, ctx.store(s.values[i]));
    }
  }

 private:
  struct Slot {
    std::string shown;  // the name as it will be written
    std::vector<std::string> values;
    bool changed = false;
  };
  Slot& slot(std::string_view name) {
    for (auto& s : slots_) {
      if (http::iequals(s.shown, name)) return s;
    }
    Slot s;
    s.shown = std::string(name);
    if (edits_.drops(name)) {
      edits_.for_each_set([&](std::string_view n, std::string_view v) {
        if (http::iequals(n, name)) s.values.emplace_back(v);
      });
    } else {
      for (const auto& h : request_.headers) {
        if (!http::iequals(h.name, name)) continue;
        if (s.values.empty()) s.shown = std::string(h.name);
        s.values.emplace_back(h.value);
      }
    }
    slots_.push_back(std::move(s));
    return slots_.back();
  }
  const http::RequestHead& request_;
  const HeaderEdits& edits_;
  std::vector<Slot> slots_;
};

bool has_line_break(std::string_view v) { return v.find_first_of("\r\n") != std::string_view::npos || v.find('\0') != std::string_view::npos; }

class RequestTransformer final : public Instance {
 public:
  RequestTransformer(const TransformerConfig& config, BuildContext&) : method_(config.http_method) {
    std::string ignored;
    if (!config.replace.uri.empty()) uri_ = Template::parse(config.replace.uri, ignored);
    auto entries = [&](const std::vector<std::string>& list, std::vector<Entry>& out) {
      for (const auto& e : list) {
        NameValue nv = split_entry(e);
        out.push_back({std::string(nv.name), *Template::parse(nv.value, ignored)});
      }
    };
    for (Part part : {Part::headers, Part::body, Part::query}) {
      Ops& ops = ops_[static_cast<int>(part)];
      const auto& pick = [part](const Operations& o) -> const std::vector<std::string>& {
        return part == Part::headers ? o.headers : part == Part::body ? o.body : o.querystring;
      };
      for (const auto& name : pick(config.remove)) ops.remove.push_back(name);
      entries(pick(config.rename), ops.rename);
      entries(pick(config.replace), ops.replace);
      entries(pick(config.add), ops.add);
      entries(pick(config.append), ops.append);
    }
  }

  Access access(RequestContext& ctx) const override {
    if (uri_ && !transform_uri(ctx)) return Access::replied;
    // HEAD is kept, and never made: the service's answer is framed by it, the client's too.
    if (!method_.empty() && ctx.request().method != "HEAD") ctx.set_upstream_method(method_);
    if (!transform_headers(ctx)) return Access::replied;
    if (needs_body(ctx)) return Access::suspend;
    transform_query(ctx, {});
    return Access::next;
  }

  boost::asio::awaitable<Access> access_async(RequestContext& ctx) const override {
    bool read = co_await read_body_or_reply(ctx);  // (GCC 12: await into a variable, not in the if)
    if (!read) co_return Access::replied;
    // A form body's arguments move into the query when the method becomes one without a body
    // (Kong: they are merged in; the body is still sent).
    std::vector<Arg> from_body;
    if (method_moves_form(ctx)) from_body = forms::parse_args(ctx.request_body());
    transform_body(ctx);
    if (ctx.reply_status() != 0) co_return Access::replied;  // a body it would not build
    transform_query(ctx, std::move(from_body));
    co_return Access::next;
  }

 private:
  enum class Part { headers = 0, body = 1, query = 2 };
  struct Ops {
    std::vector<std::string> remove;
    std::vector<Entry> rename, replace, add, append;
    bool empty() const { return remove.empty() && rename.empty() && replace.empty() && add.empty() && append.empty(); }
  };
  const Ops& ops(Part p) const { return ops_[static_cast<int>(p)]; }

  // The Content-Type after the header operations (Kong's body step reads the live field).
  std::string_view content_type(const RequestContext& ctx) const {
    const HeaderEdits& edits = ctx.upstream_headers();
    if (edits.drops("Content-Type")) return edits.find("Content-Type");
    return ctx.request().find("Content-Type");
  }

  // (Kong's transform_method runs before the header operations: the client's Content-Type.)
  bool method_moves_form(const RequestContext& ctx) const {
    return (method_ == "GET" || method_ == "TRACE") && ctx.request().method != "HEAD" &&
           body_kind(ctx.request().find("Content-Type")) == BodyKind::form &&
           ctx.request().framing != http::BodyFraming::none;
  }

  bool needs_body(const RequestContext& ctx) const {
    if (method_moves_form(ctx)) return true;
    return !ops(Part::body).empty() && body_kind(content_type(ctx)) != BodyKind::none;
  }

  bool transform_uri(RequestContext& ctx) const {
    std::string path = uri_->render(ctx);
    if (path.empty()) return true;  // Kong: an empty result changes nothing
    if (path.front() != '/') {
      spdlog::warn("request-transformer: replace.uri rendered '{}', which is no path (it must start with /)", path);
      ctx.reply(500, "An unexpected error occurred");
      return false;
    }
    ctx.set_upstream_path(http::percent_encode(path, kPathKeeps));
    return true;
  }

  // Kong's transform_headers, on the touched names; values rendered from the request as it came.
  bool transform_headers(RequestContext& ctx) const {
    const Ops& h = ops(Part::headers);
    if (h.empty()) return true;
    HeaderTable table(ctx.request(), ctx.upstream_headers());
    std::string rendered;
    auto render = [&](const Entry& e) -> bool {
      rendered.clear();
      e.value.render(ctx, rendered);
      if (!has_line_break(rendered)) return true;
      ctx.reply(400, "a header value built from the request has a line break");
      return false;
    };
    for (const auto& name : h.remove) {
      if (!http::iequals(name, "Host")) table.set(name, {});
    }
    for (const auto& e : h.rename) {
      std::string to = e.value.render(ctx);
      if (e.name == to || !table.present(e.name)) continue;  // Kong: renaming to itself changes nothing
      std::vector<std::string> moved = table.values(e.name);
      table.set(e.name, {});
      table.set(to, std::move(moved));
    }
    for (const auto& e : h.replace) {
      if (!render(e)) return false;
      if (rendered.empty()) continue;
      if (table.present(e.name) || http::iequals(e.name, "Host")) table.set(e.name, {rendered});
    }
    for (const auto& e : h.add) {
      if (!render(e)) return false;
      if (rendered.empty() || http::iequals(e.name, "Host") || table.present(e.name)) continue;
      table.set(e.name, {rendered});
    }
    for (const auto& e : h.append) {
      if (!render(e)) return false;
      if (rendered.empty() || http::iequals(e.name, "Host")) continue;
      std::vector<std::string> values = table.values(e.name);
      values.push_back(rendered);
      table.set(e.name, std::move(values));
    }
    table.write(ctx.upstream_headers(), ctx);
    return true;
  }

  void transform_body(RequestContext& ctx) const {
    const Ops& b = ops(Part::body);
    if (b.empty()) return;
    std::string& body = ctx.request_body();
    switch (body_kind(content_type(ctx))) {
      case BodyKind::json: transform_json(ctx, body); break;
      case BodyKind::form: {
        std::vector<Arg> args = forms::parse_args(body);
        if (edit_args(ctx, b, args)) body = forms::encode_args(args);
        break;
      }
      case BodyKind::multipart: transform_multipart(ctx, body); break;
      case BodyKind::none: break;
    }
  }

  void transform_json(RequestContext& ctx, std::string& body) const {
    const Ops& b = ops(Part::body);
    // Kong: an empty body is an empty object; remove, rename and replace need a body.
    const bool was_empty = body.empty();
    std::string text = was_empty ? std::string("{}") : body;
    json_edit::Document doc;
    if (!doc.parse(text)) return;  // not JSON: passed on untouched, as Kong
    if (!was_empty) {
      for (const auto& name : b.remove) json_edit::remove(doc, json_edit::parse_path(name));
      for (const auto& e : b.rename) json_edit::rename(doc, json_edit::parse_path(e.name), e.value.render(ctx), true);
      for (const auto& e : b.replace) json_edit::replace(doc, json_edit::parse_path(e.name), json_edit::string_value(e.value.render(ctx)));
    }
    for (const auto& e : b.add) json_edit::add(doc, json_edit::parse_path(e.name), json_edit::string_value(e.value.render(ctx)));
    for (const auto& e : b.append) json_edit::append(doc, json_edit::parse_path(e.name), json_edit::string_value(e.value.render(ctx)));
    if (!doc.changed()) return;
    std::string out;
    doc.write(out);
    body = std::move(out);
  }

  void transform_multipart(RequestContext& ctx, std::string& body) const {
    auto boundary = forms::multipart_boundary(content_type(ctx));
    if (!boundary || body.empty()) return;
    auto parsed = forms::parse_multipart(body, *boundary);
    if (!parsed) return;  // not what it says: passed on untouched
    const Ops& b = ops(Part::body);
    auto& parts = parsed->parts;
    auto find = [&](std::string_view name) {
      return std::find_if(parts.begin(), parts.end(), [&](const forms::Part& p) { return p.name == name; });
    };
    bool changed = false;
    // A part built from the request must stay one part: a value holding the boundary, or a
    // name with a quote or line break, would add fields of the client's choosing (400).
    const std::string delimiter = "\r\n--" + *boundary;
    auto part = [&](std::string_view name, std::string_view value, forms::Part& out) {
      if (name.find_first_of("\"\r\n") != std::string_view::npos || value.find(delimiter) != std::string_view::npos) {
        ctx.reply(400, "a value built from the request would break the multipart body");
        return false;
      }
      out = forms::simple_part(name, value);
      return true;
    };
    forms::Part made;
    // Kong's order for multipart: rename, remove, replace, add (Kong has no multipart append).
    for (const auto& e : b.rename) {
      std::string to = e.value.render(ctx);
      auto it = find(e.name);
      if (it == parts.end() || to == e.name) continue;
      if (!part(to, it->body, made)) return;
      forms::Part renamed = std::move(made);
      std::erase_if(parts, [&](const forms::Part& p) { return p.name == e.name || p.name == to; });
      parts.push_back(std::move(renamed));
      changed = true;
    }
    for (const auto& name : b.remove) changed |= std::erase_if(parts, [&](const forms::Part& p) { return p.name == name; }) > 0;
    for (const auto& e : b.replace) {
      if (find(e.name) == parts.end()) continue;
      if (!part(e.name, e.value.render(ctx), made)) return;
      std::erase_if(parts, [&](const forms::Part& p) { return p.name == e.name; });
      parts.push_back(std::move(made));
      changed = true;
    }
    for (const auto& e : b.add) {
      if (find(e.name) != parts.end()) continue;
      if (!part(e.name, e.value.render(ctx), made)) return;
      parts.push_back(std::move(made));
      changed = true;
    }
    if (changed) body = forms::write_multipart(*parsed);
  }

  // Kong's operations on arguments (form bodies and queries); whether any changed something.
  bool edit_args(const RequestContext& ctx, const Ops& o, std::vector<Arg>& args) const {
    bool changed = false;
    for (const auto& name : o.remove) changed |= forms::remove_arg(args, name);
    for (const auto& e : o.rename) changed |= forms::rename_arg(args, e.name, e.value.render(ctx));
    for (const auto& e : o.replace) changed |= forms::replace_arg(args, e.name, e.value.render(ctx));
    for (const auto& e : o.add) changed |= forms::add_arg(args, e.name, e.value.render(ctx));
    for (const auto& e : o.append) {
      forms::append_arg(args, e.name, e.value.render(ctx));
      changed = true;
    }
    return changed;
  }

  // Kong: the query is rewritten only when a querystring operation is configured (or a form
  // body moved into it); otherwise the client's raw query goes on byte for byte.
  void transform_query(RequestContext& ctx, std::vector<Arg> from_body) const {
    const Ops& q = ops(Part::query);
    if (q.empty() && from_body.empty()) return;
    // The query as plugins before this one left it (key-auth's hidden apikey stays hidden).
    std::vector<Arg> args = forms::parse_args(ctx.query_replaced() ? ctx.upstream_query() : ctx.request().query);
    for (auto& a : from_body) args.push_back(std::move(a));
    edit_args(ctx, q, args);
    ctx.set_upstream_query(forms::encode_args(args));
  }

  std::string method_;
  std::optional<Template> uri_;
  Ops ops_[3];
};

}  // namespace

const Schema& request_transformer_schema() {
  static const Schema schema{
      .name = "request-transformer",
      .priority = 801,  // Kong's: after rate limiting, before response-transformer (800)
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<RequestTransformer, TransformerConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
