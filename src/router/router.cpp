#include "router/router.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <stdexcept>

#include "config/kong_regex.hpp"

namespace portico::router {
namespace {

constexpr std::uint64_t kPlainHostOnlyBit = 1ULL << 60;
constexpr std::uint64_t kRegexUrlBit = 1ULL << 51;

bool is_regex_path(const std::string& p) { return !p.empty() && p[0] == '~'; }

// A regex the loader has already validated (so this cannot fail on a loaded configuration).
std::shared_ptr<RE2> compiled(std::string_view kong, const RE2::Options& options) {
  auto re = config::compile_kong_regex(kong, options);
  if (!re.ok()) throw std::invalid_argument(re.error().message);
  return *re;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && http::iequals(s.substr(s.size() - suffix.size()), suffix);
}
bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

CompiledRoute::HostPattern compile_host(const std::string& h) {
  CompiledRoute::HostPattern p;
  std::string name = h;
  std::size_t colon = h.rfind(':');
  if (colon != std::string::npos && h.find(']') == std::string::npos) {
    name = h.substr(0, colon);
    p.port = std::stoi(h.substr(colon + 1));
  }
  if (name.rfind("*.", 0) == 0) {
    p.kind = CompiledRoute::HostPattern::Kind::suffix;
    p.value = name.substr(1);  // ".example.com"
  } else if (name.size() > 2 && name.compare(name.size() - 2, 2, ".*") == 0) {
    p.kind = CompiledRoute::HostPattern::Kind::prefix;
    p.value = name.substr(0, name.size() - 1);  // "example."
  } else {
    p.value = name;
  }
  return p;
}

// One of the patterns matches the name; a pattern with a port matches on that listener port only.
bool any_host_matches(const std::vector<CompiledRoute::HostPattern>& patterns, std::string_view name, int local_port) {
  for (const auto& h : patterns) {
    if (h.port != 0 && h.port != local_port) continue;
    switch (h.kind) {
      case CompiledRoute::HostPattern::Kind::exact:
        if (http::iequals(name, h.value)) return true;
        break;
      case CompiledRoute::HostPattern::Kind::suffix:
        if (iends_with(name, h.value)) return true;
        break;
      case CompiledRoute::HostPattern::Kind::prefix:
        if (istarts_with(name, h.value)) return true;
        break;
    }
  }
  return false;
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

struct Router::RegexSet {
  explicit RegexSet(const RE2::Options& options) : set(options, RE2::ANCHOR_START) {}
  RE2::Set set;
};

std::uint64_t Router::priority(const config::RouteConfig& r, const std::string* path) {
  std::uint64_t weight = 0;
  if (!r.methods.empty()) ++weight;
  if (!r.hosts.empty()) ++weight;
  std::uint64_t headers = std::min<std::uint64_t>(r.headers.size(), 255);
  if (headers > 0) ++weight;
  if (!r.snis.empty()) ++weight;
  bool plain_host_only = !r.hosts.empty();
  for (const auto& h : r.hosts) {
    if (h.find('*') != std::string::npos) plain_host_only = false;
  }
  std::uint64_t length = 0;
  bool regex = false;
  if (path != nullptr) {
    ++weight;
    if (is_regex_path(*path)) regex = true;
    else length = path->size() & 0x7FFFF;
  }
  // Kong shifts regex_priority into 32 bits; negative priorities sort below zero.
  std::uint64_t rp = regex ? (static_cast<std::uint64_t>(static_cast<std::int64_t>(r.regex_priority) + 0x80000000LL) & 0xFFFFFFFFULL) : 0x80000000ULL;
  return (weight << 61) | (plain_host_only ? kPlainHostOnlyBit : 0) | (headers << 52) |
         (regex ? kRegexUrlBit : 0) | ((rp & 0xFFFFFFFFULL) << 19) | length;
}

Router::Router(const config::DeclarativeConfig& config) {
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const auto& rc = config.routes[i];
    auto cr = std::make_unique<CompiledRoute>();
    cr->route_index = i;
    cr->service_index = rc.service_index;
    cr->name = rc.name;
    cr->id = rc.id;
    cr->methods = rc.methods;
    for (const auto& h : rc.hosts) cr->hosts.push_back(compile_host(h));
    for (const auto& [name, values] : rc.headers) {
      CompiledRoute::HeaderCondition cond;
      cond.name = name;
      for (const auto& v : values) {
        if (v.rfind("~*", 0) == 0) {
          RE2::Options opts;
          opts.set_case_sensitive(false);
          cond.regexes.push_back(compiled(std::string_view(v).substr(2), opts));
        } else {
          std::string lowered;
          for (char c : v) lowered += lower(c);
          cond.values.push_back(lowered);
        }
      }
      cr->headers.push_back(std::move(cond));
    }
    for (const auto& name : rc.snis) {
      if (name == "*") {
        cr->snis.push_back({CompiledRoute::HostPattern::Kind::suffix, "", 0});
      } else {
        cr->snis.push_back(compile_host(name));
      }
    }
    cr->strip_path = rc.strip_path;
    cr->preserve_host = rc.preserve_host;
    cr->path_handling_v1 = rc.path_handling == "v1";
    auto has = [&](std::string_view protocol) {
      return std::find(rc.protocols.begin(), rc.protocols.end(), protocol) != rc.protocols.end();
    };
    cr->accepts_http = has("http");
    cr->accepts_plain_ws = has("http") || has("ws");
    cr->accepts_requests = has("http") || has("https");
    cr->grpc_only = has("grpc") || has("grpcs");  // (the loader refuses them mixed with others)
    cr->accepts_plain_grpc = has("grpc");
    cr->https_redirect_status_code = rc.https_redirect_status_code;

    if (rc.paths.empty()) {
      entries_.push_back({priority(rc, nullptr), i, cr.get(), {}, nullptr, false});
    } else {
      for (const auto& p : rc.paths) {
        Entry e{priority(rc, &p), i, cr.get(), {}, nullptr, true};
        if (is_regex_path(p)) {
          e.regex = compiled(std::string_view(p).substr(1), RE2::Options());
        } else {
          e.prefix = p;
        }
        entries_.push_back(std::move(e));
      }
    }
    routes_.push_back(std::move(cr));
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.order < b.order;
  });

  for (std::uint32_t rank = 0; rank < entries_.size(); ++rank) {
    const Entry& e = entries_[rank];
    if (e.has_path && !e.regex) {
      std::size_t len = e.prefix.size();
      auto it = std::find_if(by_prefix_.begin(), by_prefix_.end(), [&](auto& p) { return p.first == len; });
      if (it == by_prefix_.end()) {
        by_prefix_.push_back({len, {}});
        it = by_prefix_.end() - 1;
      }
      it->second[e.prefix].push_back(rank);
      continue;
    }
    if (e.regex) {
      regex_ranks_.push_back(rank);
      continue;
    }
    bool exact_hosts_only = !e.has_path && !e.route->hosts.empty() &&
                            std::all_of(e.route->hosts.begin(), e.route->hosts.end(), [](const auto& h) {
                              return h.kind == CompiledRoute::HostPattern::Kind::exact;
                            });
    if (exact_hosts_only) {
      for (const auto& h : e.route->hosts) {
        auto& ranks = by_host_[h.value];
        if (ranks.empty() || ranks.back() != rank) ranks.push_back(rank);
      }
      continue;
    }
    always_.push_back(rank);
  }
  if (!regex_ranks_.empty()) {
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(256 << 20);
    auto holder = std::make_unique<RegexSet>(opts);
    bool ok = true;
    for (std::uint32_t rank : regex_ranks_) ok = ok && holder->set.Add(entries_[rank].regex->pattern(), nullptr) >= 0;
    if (ok && holder->set.Compile()) {
      regex_set_ = std::move(holder);
    } else {
      // Too large for one automaton: check the regex routes one by one instead.
      always_.insert(always_.end(), regex_ranks_.begin(), regex_ranks_.end());
      std::sort(always_.begin(), always_.end());
      regex_ranks_.clear();
    }
  }
}

Router::~Router() = default;

bool Router::entry_matches(const Entry& e, const MatchInput& in, std::string_view host, int port,
                           MatchResult& out) const {
  const CompiledRoute& r = *e.route;
  if (!r.methods.empty() &&
      std::find(r.methods.begin(), r.methods.end(), in.method) == r.methods.end()) {
    return false;
  }
  if (!r.hosts.empty() && !any_host_matches(r.hosts, host, in.local_port)) return false;
  if (!r.snis.empty() && in.tls) {
    std::string_view sni = in.sni;
    if (sni.size() > 1 && sni.back() == '.') sni.remove_suffix(1);
    if (sni.empty() || !any_host_matches(r.snis, sni, 0)) return false;
  }
  (void)port;
  for (const auto& cond : r.headers) {
    bool any = false;
    if (in.headers != nullptr) {
      for (const auto& f : in.headers->headers) {
        if (!http::iequals(f.name, cond.name)) continue;
        for (const auto& v : cond.values) {
          if (http::iequals(f.value, v)) {
            any = true;
            break;
          }
        }
        if (!any) {
          for (const auto& re : cond.regexes) {
            if (RE2::PartialMatch(re2::StringPiece(f.value.data(), f.value.size()), *re)) {
              any = true;
              break;
            }
          }
        }
        if (any) break;
      }
    }
    if (!any) return false;
  }
  out.captures.clear();
  out.regex = e.regex.get();
  if (e.regex) {
    int groups = e.regex->NumberOfCapturingGroups();
    thread_local std::vector<re2::StringPiece> pieces;
    pieces.assign(static_cast<std::size_t>(groups) + 1, {});
    re2::StringPiece text(in.path.data(), in.path.size());
    if (!e.regex->Match(text, 0, text.size(), RE2::ANCHOR_START, pieces.data(), groups + 1)) return false;
    out.matched_length = pieces[0].size();
    for (int g = 1; g <= groups; ++g) out.captures.emplace_back(pieces[g].data(), pieces[g].size());
  } else if (e.has_path) {
    // Prefix membership was established by the index lookup.
    out.matched_length = e.prefix.size();
  } else {
    out.matched_length = 0;
  }
  out.route = &r;
  return true;
}

bool Router::match(const MatchInput& in, MatchResult& out) const {
  std::string_view host;
  int port = 0;
  http::split_authority(in.host, host, port);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // FQDN trailing dot

  thread_local std::vector<std::uint32_t> candidates;
  candidates.clear();
  for (const auto& [len, map] : by_prefix_) {
    if (in.path.size() < len) continue;
    auto it = map.find(in.path.substr(0, len));
    if (it != map.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  if (!by_host_.empty()) {
    thread_local std::string lowered;
    lowered.assign(host);
    for (auto& c : lowered) c = lower(c);
    auto it = by_host_.find(lowered);
    if (it != by_host_.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  if (regex_set_) {
    thread_local std::vector<int> hits;
    hits.clear();
    if (regex_set_->set.Match(re2::StringPiece(in.path.data(), in.path.size()), &hits)) {
      for (int i : hits) candidates.push_back(regex_ranks_[static_cast<std::size_t>(i)]);
    }
  }
  candidates.insert(candidates.end(), always_.begin(), always_.end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (std::uint32_t rank : candidates) {
    if (entry_matches(entries_[rank], in, host, port, out)) return true;
  }
  out.route = nullptr;
  return false;
}

bool normalize_path(std::string_view path, std::string& out, bool& changed) {
  changed = false;
  bool needs = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%') {
      needs = true;
      break;
    }
    if (path[i] == '.' && i > 0 && path[i - 1] == '/') {
      std::size_t n = i + 1;
      if (n == path.size() || path[n] == '/' || (path[n] == '.' && (n + 1 == path.size() || path[n + 1] == '/'))) {
        needs = true;
        break;
      }
    }
  }
  if (!needs) return true;
  // 1. decode unreserved escapes, upper-case the others
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    int hi = -1, lo = -1;
    if (path[i] == '%' && i + 2 < path.size()) {
      hi = http::hex_digit_value(path[i + 1]);
      lo = http::hex_digit_value(path[i + 2]);
    }
    if (hi < 0 || lo < 0) {  // not an escape (a '%' without two hex digits stays as it is)
      decoded += path[i];
      continue;
    }
    char c = static_cast<char>(hi * 16 + lo);
    // A decoded hex digit must not complete a '%' before it into an escape the client never
    // sent ("%4%31" would read "%41"): normalising twice would then give two paths.
    const std::size_t n = decoded.size();
    const bool forms_escape = http::hex_digit_value(c) >= 0 &&
                              ((n >= 1 && decoded[n - 1] == '%') ||
                               (n >= 2 && decoded[n - 2] == '%' && http::hex_digit_value(decoded[n - 1]) >= 0));
    if (is_unreserved(c) && !forms_escape) {
      decoded += c;
    } else {
      decoded += '%';
      decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
      decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
    }
    i += 2;
  }
  // 2. remove dot segments
  std::string result;
  result.reserve(decoded.size());
  std::size_t i = 0;
  while (i < decoded.size()) {
    std::size_t next = decoded.find('/', i + 1);
    std::string_view seg = std::string_view(decoded).substr(i, next == std::string::npos ? std::string::npos : next - i);
    // seg starts with '/'
    if (seg == "/.") {
      if (next == std::string::npos) result += '/';
    } else if (seg == "/..") {
      if (result.empty()) return false;  // above the root
      std::size_t last = result.rfind('/');
      result.erase(last == std::string::npos ? 0 : last);
      if (next == std::string::npos) result += '/';
    } else {
      result += seg;
    }
    if (next == std::string::npos) break;
    i = next;
  }
  if (result.empty()) result = "/";
  out = std::move(result);
  changed = true;
  return true;
}

namespace {
std::string_view sanitize_postfix(std::string_view p) {
  if (p == "." || p == "..") return {};
  if (p.substr(0, 2) == "./") return p.substr(2);
  if (p.substr(0, 3) == "../") return p.substr(3);
  return p;
}
}  // namespace

std::string build_upstream_path(std::string_view base, std::string_view req, std::size_t strip_length,
                                bool strip_path, bool v1) {
  std::string out;
  build_upstream_path(out, base, req, strip_length, strip_path, v1);
  return out;
}

void build_upstream_path(std::string& out, std::string_view base, std::string_view req, std::size_t strip_length,
                         bool strip_path, bool v1) {
  if (base.empty()) base = "/";
  std::string_view postfix = strip_path ? sanitize_postfix(req.substr(std::min(strip_length, req.size()))) : req;
  out.clear();
  if (v1) {
    // v1: plain concatenation, dropping the leading slash of the appended part.
    out.append(base);
    if (!postfix.empty() && postfix[0] == '/') postfix.remove_prefix(1);
    if (!out.empty() && out.back() == '/' && !postfix.empty() && postfix[0] == '/') postfix.remove_prefix(1);
    out.append(postfix);
    if (out.empty()) out = "/";
    return;
  }
  // v0, as Kong's get_upstream_uri.
  if (base.back() == '/') {
    if (strip_path) {
      if (postfix.empty()) {
        if (base == "/") out = "/";
        else if (!req.empty() && req.back() == '/') out.assign(base);
        else out.assign(base.substr(0, base.size() - 1));
      } else if (postfix[0] == '/') {
        out.append(base.substr(0, base.size() - 1)).append(postfix);
      } else {
        out.append(base).append(postfix);
      }
    } else {
      out.append(base).append(req.substr(1));
    }
  } else if (strip_path) {
    if (postfix.empty()) {
      out.append(base);
      if (req.size() > 1 && req.back() == '/') out += '/';
    } else if (postfix[0] == '/') {
      out.append(base).append(postfix);
    } else {
      out.append(base).append("/").append(postfix);
    }
  } else if (req == "/") {
    out.assign(base);
  } else {
    out.append(base).append(req);
  }
}

}  // namespace portico::router
