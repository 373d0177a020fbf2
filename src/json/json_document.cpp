#include "json/json_document.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/utf8.hpp"
#include "http/status.hpp"

namespace portico::json_edit {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  unsigned b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    unsigned b1 = byte(1);
    bool ok = b0 == 0xE0 ? (b1 >= 0xA0 && b1 <= 0xBF) : b0 == 0xED ? (b1 >= 0x80 && b1 <= 0x9F) : cont(1);
    return ok && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    unsigned b1 = byte(1);
    bool ok = b0 == 0xF0 ? (b1 >= 0x90 && b1 <= 0xBF) : b0 == 0xF4 ? (b1 >= 0x80 && b1 <= 0x8F) : cont(1);
    return ok && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// The first index at or after `i` where a string scan has something to check: '"', '\\', a
// control character or a non-ASCII byte (the slow path looks at those). Sixteen bytes at a
// time with SSE2 (every x86-64 has it): as signed bytes, "below 0x20" covers both control
// characters and bytes from 0x80. Elsewhere eight at a time: each test may also flag bytes
// above the first one it finds (a borrow carries up), never below it, so the lowest flagged
// byte (little-endian: the first) is exact.
[[gnu::always_inline]] inline std::size_t skip_plain_string_bytes(std::string_view s, std::size_t i) {
  const char* p = s.data();
  const std::size_t n = s.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  while (i + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i attention = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(attention));
    if (mask != 0) return i + static_cast<std::size_t>(std::countr_zero(mask));
    i += 16;
  }
#else
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  while (i + 8 <= n) {
    std::uint64_t v;
    std::memcpy(&v, p + i, 8);
    std::uint64_t attention = has_zero_byte(v ^ (kOnes * '"')) | has_zero_byte(v ^ (kOnes * '\\')) |
                              ((v - kOnes * 0x20) & ~v & kHighs) |  // a byte below 0x20
                              (v & kHighs);                         // a byte from 0x80
    if (attention != 0) {
      if constexpr (std::endian::native == std::endian::little) return i + (std::countr_zero(attention) >> 3);
      break;  // (big-endian: the byte loop finds it)
    }
    i += 8;
  }
#endif
  while (i < n) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++i;
  }
  return i;
}

// Where a string's scan stopped: past its closing quote, or at what is wrong (`problem`).
struct StringScan {
  std::size_t end;
  const char* problem;
};

// The rest of a string from text[i], a byte that needs a look (an escape, a control
// character, non-ASCII, or the end of the text). Out of line: most strings never come here.
[[gnu::noinline]] StringScan scan_string_slow(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  for (;;) {
    if (i >= n) return {i, "unterminated string"};
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') return {i + 1, nullptr};
    if (c == '\\') {
      if (i + 1 >= n) return {i, "unterminated string"};
      char e = text[i + 1];
      if (e == 'u') {
        // UTF-16 code units; surrogates only in pairs (I-JSON, RFC 7493 2.1: a lone one names
        // no character, and parsers disagree on what it becomes).
        auto unit = [&](std::size_t at) -> int {
          if (at + 6 > n || text[at] != '\\' || text[at + 1] != 'u') return -1;
          int v = 0;
          for (std::size_t k = 2; k < 6; ++k) {
            int h = hex_value(text[at + k]);
            if (h < 0) return -1;
            v = v * 16 + h;
          }
          return v;
        };
        int cu = unit(i);
        if (cu < 0) return {i, "bad \\u escape"};
        if (cu >= 0xDC00 && cu <= 0xDFFF) return {i, "lone surrogate escape"};
        if (cu >= 0xD800 && cu <= 0xDBFF) {
          int low = unit(i + 6);
          if (low < 0xDC00 || low > 0xDFFF) return {i, "lone surrogate escape"};
          i += 6;
        }
        i += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        i += 2;
      } else {
        return {i, "bad escape"};
      }
    } else if (c < 0x20) {
      return {i, "control character in a string"};
    } else {
      std::size_t len = utf8_sequence(text, i);
      if (len == 0) return {i, "invalid UTF-8"};
      i += len;
    }
    i = skip_plain_string_bytes(text, i);
  }
}

// The string whose opening quote is text[i]. Inline for the common case: plain bytes up to
// the closing quote.
inline StringScan scan_string(std::string_view text, std::size_t i) {
  i = skip_plain_string_bytes(text, i + 1);
  if (i < text.size() && text[i] == '"') return {i + 1, nullptr};
  return scan_string_slow(text, i);
}

// The end of the number starting at text[i] ('-' or a digit), or npos when it is malformed.
std::size_t number_end(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  if (text[i] == '-') ++i;
  if (i < n && text[i] == '0') {
    ++i;
  } else if (i < n && is_digit(text[i])) {
    while (i < n && is_digit(text[i])) ++i;
  } else {
    return std::string_view::npos;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (i >= n || !is_digit(text[i])) return std::string_view::npos;
    while (i < n && is_digit(text[i])) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= n || !is_digit(text[i])) return std::string_view::npos;
    while (i < n && is_digit(text[i])) ++i;
  }
  return i;
}


}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  http::append_json_escaped(out, s);
  out += '"';
}

bool unescape_json_string(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= in.size()) return false;
    switch (in[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        auto code_unit = [&](std::size_t at, std::uint32_t& cu) {
          if (at + 4 > in.size()) return false;
          cu = 0;
          for (std::size_t k = 0; k < 4; ++k) {
            int h = hex_value(in[at + k]);
            if (h < 0) return false;
            cu = cu * 16 + static_cast<std::uint32_t>(h);
          }
          return true;
        };
        std::uint32_t cp = 0;
        if (!code_unit(i + 1, cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < in.size() && in[i + 1] == '\\' && in[i + 2] == 'u') {
          std::uint32_t low = 0;
          if (code_unit(i + 3, low) && low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate names no character
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

bool Document::fail(std::size_t at, std::string_view what) {
  error_ = std::string(what) + " at byte " + std::to_string(at);
  nodes_.clear();
  return false;
}

Document::NodeId Document::new_node(Kind kind, NodeId parent) {
  assert(parent == kNone || !nodes_[parent].children_skipped);
  auto id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(Node{.kind = kind});
  nodes_.back().parent = parent;
  if (parent != kNone) link_last(parent, id);
  return id;
}

void Document::link_last(NodeId parent, NodeId child) {
  Node& p = nodes_[parent];
  if (p.last == kNone) p.first = child;
  else nodes_[p.last].next = child;
  p.last = child;
}

bool Document::parse(std::string_view text, std::size_t max_values, std::size_t keep_depth) {
  text_ = text;
  nodes_.clear();
  texts_.clear();
  error_.clear();
  too_many_ = false;
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) return fail(0, "text too large");
  nodes_.reserve(keep_depth == kKeepAll ? std::min(text.size() / 8 + 4, max_values) : 64);
  // The containers open around the current value, innermost last: its node (kNone when
  // deeper than keep_depth) and whether it is an object.
  struct Open {
    NodeId node;
    bool object;
  };
  std::vector<Open> open;
  open.reserve(16);
  const std::size_t n = text.size();
  const char* p = text.data();
  std::size_t i = 0;
  std::size_t values = 0;
  std::uint32_t key_begin = 0, key_end = 0;
  auto skip_space = [&] {
    while (i < n && static_cast<unsigned char>(p[i]) <= ' ' && is_space(p[i])) ++i;
  };
  auto word = [&](std::string_view w) { return text.substr(i, w.size()) == w; };

  for (;;) {
    // A value at text[i].
    skip_space();
    if (i >= n) return fail(i, "unexpected end of text");
    if (++values > max_values) {
      too_many_ = true;
      return fail(i, "more than " + std::to_string(max_values) + " values");
    }
    const std::size_t begin = i;
    const char c = p[i];
    Kind kind;
    bool opened = false;
    switch (c) {
      case '{':
      case '[':
        kind = c == '{' ? Kind::object : Kind::array;
        ++i;
        skip_space();
        if (i < n && p[i] == (c == '{' ? '}' : ']')) ++i;  // empty
        else opened = true;
        break;
      case '"': {
        StringScan s = scan_string(text, i);
        if (s.problem != nullptr) return fail(s.end, s.problem);
        i = s.end;
        kind = Kind::string;
        break;
      }
      case 't':
        if (!word("true")) return fail(i, "unexpected character");
        i += 4;
        kind = Kind::true_value;
        break;
      case 'f':
        if (!word("false")) return fail(i, "unexpected character");
        i += 5;
        kind = Kind::false_value;
        break;
      case 'n':
        if (!word("null")) return fail(i, "unexpected character");
        i += 4;
        kind = Kind::null_value;
        break;
      default:
        if (c != '-' && !is_digit(c)) return fail(i, "unexpected character");
        i = number_end(text, i);
        if (i == std::string_view::npos) return fail(begin, "bad number");
        kind = Kind::number;
    }
    NodeId node = kNone;
    if (open.size() <= keep_depth) {
      // (new_node(), written out: this runs once per kept value of every body read)
      node = static_cast<NodeId>(nodes_.size());
      Node& added = nodes_.emplace_back();
      added.kind = kind;
      added.begin = static_cast<std::uint32_t>(begin);
      added.end = static_cast<std::uint32_t>(i);  // (a container's: set again when it closes)
      added.children_skipped = opened && open.size() == keep_depth;
      if (!open.empty()) {
        const Open& parent = open.back();
        added.parent = parent.node;
        if (parent.object) added.key_begin = key_begin, added.key_end = key_end;
        link_last(parent.node, node);
      }
    }
    if (opened) open.push_back({node, kind == Kind::object});
    // What follows the value: a key (in an object just opened, or after a comma), another
    // element, the end of containers, or the end of the text.
    bool want_key = opened && kind == Kind::object;
    bool want_value = opened && kind == Kind::array;
    while (!want_key && !want_value) {
      skip_space();
      if (open.empty()) {
        if (i != n) return fail(i, "text after the value");
        return true;
      }
      const Open& in = open.back();
      if (i >= n) return fail(i, "unexpected end of text");
      if (p[i] == ',') {
        ++i;
        (in.object ? want_key : want_value) = true;
      } else if (p[i] == (in.object ? '}' : ']')) {
        ++i;
        if (in.node != kNone) nodes_[in.node].end = static_cast<std::uint32_t>(i);
        open.pop_back();
      } else {
        return fail(i, in.object ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    if (want_key) {
      skip_space();
      if (i >= n || p[i] != '"') return fail(i, "expected a key");
      key_begin = static_cast<std::uint32_t>(i);
      StringScan s = scan_string(text, i);
      if (s.problem != nullptr) return fail(s.end, s.problem);
      i = s.end;
      key_end = static_cast<std::uint32_t>(i);
      skip_space();
      if (i >= n || p[i] != ':') return fail(i, "expected ':'");
      ++i;
    }
  }
}

std::string_view Document::raw_key(NodeId n) const {
  const Node& nd = nodes_[n];
  if (nd.key_text >= 0) return texts_[static_cast<std::size_t>(nd.key_text)];
  return text_.substr(nd.key_begin, nd.key_end - nd.key_begin);
}

bool Document::key_is(NodeId n, std::string_view name) const {
  std::string_view raw = raw_key(n);
  if (raw.size() < 2) return false;
  raw = raw.substr(1, raw.size() - 2);
  if (raw.find('\\') == std::string_view::npos) return raw == name;
  std::string decoded;
  return unescape_json_string(raw, decoded) && decoded == name;
}

Document::NodeId Document::member(NodeId parent, std::string_view name) const {
  NodeId found = kNone;
  for (NodeId c = first_child(parent); c != kNone; c = next_sibling(c)) {
    if (key_is(c, name)) found = c;
  }
  return found;
}

Document::NodeId Document::element(NodeId parent, std::size_t index) const {
  NodeId c = first_child(parent);
  for (std::size_t k = 0; c != kNone && k < index; ++k) c = next_sibling(c);
  return c;
}

std::string_view Document::string_value(NodeId n, std::string& scratch) const {
  const Node& nd = nodes_[n];
  std::string_view raw = nd.text >= 0 ? std::string_view(texts_[static_cast<std::size_t>(nd.text)])
                                      : text_.substr(nd.begin, nd.end - nd.begin);
  raw = raw.substr(1, raw.size() - 2);
  if (raw.find('\\') == std::string_view::npos) return raw;
  unescape_json_string(raw, scratch);
  return scratch;
}

std::string Document::text_of(NodeId n) const {
  std::string out;
  write_node(n, out);
  return out;
}

void Document::mark_dirty(NodeId n) {
  for (NodeId m = n; m != kNone && !nodes_[m].dirty; m = nodes_[m].parent) nodes_[m].dirty = true;
}

void Document::set_value(NodeId n, Kind kind, std::string json_text) {
  Node& nd = nodes_[n];
  nd.kind = kind;
  nd.first = nd.last = kNone;
  nd.children_skipped = false;
  nd.text = static_cast<std::int32_t>(texts_.size());
  texts_.push_back(std::move(json_text));
  nd.dirty = false;  // (re-marked below with its ancestors)
  mark_dirty(n);
}

void Document::set_key(NodeId member, std::string_view name) {
  std::string encoded;
  append_json_string(encoded, name);
  nodes_[member].key_text = static_cast<std::int32_t>(texts_.size());
  texts_.push_back(std::move(encoded));
  mark_dirty(nodes_[member].parent);
}

Document::NodeId Document::add_member(NodeId object, std::string_view name, Kind kind, std::string json_text) {
  NodeId node = new_node(kind, object);
  set_key(node, name);
  set_value(node, kind, std::move(json_text));
  return node;
}

Document::NodeId Document::add_element(NodeId array, Kind kind, std::string json_text) {
  if (nodes_[array].text >= 0) {
    // An array this document made ("[...]" text): the element goes into the text.
    std::string& own = texts_[static_cast<std::size_t>(nodes_[array].text)];
    own.insert(own.size() - 1, own.size() > 2 ? "," + json_text : json_text);
    return array;
  }
  NodeId node = new_node(kind, array);
  set_value(node, kind, std::move(json_text));
  return node;
}

void Document::write(std::string& out) const {
  if (nodes_.empty()) return;
  if (!changed()) out.append(text_);  // whitespace around the value included
  else write_node(0, out);
}

// Recursion follows edited containers only, so its depth is that of the deepest edit (a
// configured path), not the document's.
void Document::write_node(NodeId n, std::string& out) const {
  const Node& nd = nodes_[n];
  if (nd.text >= 0) {
    out += texts_[static_cast<std::size_t>(nd.text)];
    return;
  }
  if (!nd.dirty) {
    out.append(text_.substr(nd.begin, nd.end - nd.begin));
    return;
  }
  bool object = nd.kind == Kind::object;
  out += object ? '{' : '[';
  for (NodeId c = nd.first; c != kNone; c = nodes_[c].next) {
    if (c != nd.first) out += ',';
    if (object) {
      out += raw_key(c);
      out += ':';
    }
    write_node(c, out);
  }
  out += object ? '}' : ']';
}

}  // namespace portico::json_edit
