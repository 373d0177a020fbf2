#include "plugins/openid-connect/session.hpp"

#include <boost/json.hpp>
#include <cmath>

namespace portico::plugins::openid_connect {

namespace json = boost::json;

namespace {

// Whether no number in `v` is beyond a double's range: Boost.JSON reads 1e400 as infinity and
// writes that back as `Infinity`, which is no JSON (a session holding it could not be read
// again; found by tests/fuzz/login_cookie_fuzz).
bool all_finite(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (v.is_array()) {
    for (const auto& e : v.get_array()) {
      if (!all_finite(e)) return false;
    }
  } else if (v.is_object()) {
    for (const auto& m : v.get_object()) {
      if (!all_finite(m.value())) return false;
    }
  }
  return true;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object() || !all_finite(v)) return std::nullopt;
  return std::move(v.as_object());
}

std::string text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A time in seconds, or 0 (unknown) when absent. (Finite: parse_object refuses any other.)
double number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return 0;
  return v->to_number<double>();
}

}  // namespace

std::string encode(const PreLogin& p) {
  return json::serialize(json::object{{"state", p.state},
                                      {"nonce", p.nonce},
                                      {"verifier", p.code_verifier},
                                      {"return_to", p.return_to},
                                      {"created", p.created}});
}

std::optional<PreLogin> decode_pre_login(std::string_view json_text) {
  auto o = parse_object(json_text);
  if (!o) return std::nullopt;
  PreLogin p{text(*o, "state"), text(*o, "nonce"), text(*o, "verifier"), text(*o, "return_to"), number(*o, "created")};
  if (p.state.empty() || p.created <= 0) return std::nullopt;
  return p;
}

std::string encode(const Session& s) {
  json::object o{{"sub", s.subject},           {"claims", s.claims},        {"at", s.access_token},
                 {"at_exp", s.access_expires}, {"rt", s.refresh_token},     {"idt", s.id_token},
                 {"created", s.created},       {"renewed", s.renewed},      {"seen", s.seen}};
  return json::serialize(o);
}

std::optional<Session> decode_session(std::string_view json_text) {
  auto o = parse_object(json_text);
  if (!o) return std::nullopt;
  Session s;
  s.subject = text(*o, "sub");
  if (const json::value* claims = o->if_contains("claims"); claims != nullptr && claims->is_object()) {
    s.claims = claims->get_object();
  }
  s.access_token = text(*o, "at");
  s.access_expires = number(*o, "at_exp");
  s.refresh_token = text(*o, "rt");
  s.id_token = text(*o, "idt");
  s.created = number(*o, "created");
  s.renewed = number(*o, "renewed");
  s.seen = number(*o, "seen");
  if (s.subject.empty() || s.created <= 0) return std::nullopt;
  return s;
}

std::string session_expiry_problem(const Session& s, const SessionTimeouts& t, double now) {
  if (t.absolute > 0 && now >= s.created + t.absolute) return "the session reached its absolute timeout";
  if (t.rolling > 0 && now >= s.renewed + t.rolling) return "the session reached its rolling timeout";
  if (t.idling > 0 && now >= s.seen + t.idling) return "the session was idle too long";
  return "";
}

bool is_same_site_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) return false;
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') return false;
  }
  return true;
}

}  // namespace portico::plugins::openid_connect
