#include "json/json_document.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

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
// control character or a non-ASCII byte. Eight bytes at a time (most of a JSON text is plain
// ASCII): each test may also flag bytes above the first one it finds (a borrow carries up),
// never below it, so the lowest flagged byte (little-endian: the first) is exact.
std::size_t skip_plain_string_bytes(std::string_view s, std::size_t i) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  const char* p = s.data();
  const std::size_t n = s.size();
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
  while (i < n) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++i;
  }
  return i;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
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

bool Document::parse(std::string_view text, std::size_t max_values) {
  text_ = text;
  nodes_.clear();
  texts_.clear();
  error_.clear();
  too_many_ = false;
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) return fail(0, "text too large");
  nodes_.reserve(std::min(text.size() / 8 + 4, max_values));
  const std::size_t n = text.size();
  std::size_t i = 0;
  NodeId container = kNone;  // the object or array being filled
  std::uint32_t key_begin = 0, key_end = 0;
  auto skip_space = [&] {
    while (i < n && is_space(text[i])) ++i;
  };
  // A string starting at text[i] ('"'): i moves past its closing quote.
  auto scan_string = [&]() -> bool {
    ++i;
    for (;;) {
      i = skip_plain_string_bytes(text, i);
      if (i >= n) break;
      auto c = static_cast<unsigned char>(text[i]);
      if (c == '"') {
        ++i;
        return true;
      }
      if (c == '\\') {
        if (i + 1 >= n) break;
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
          if (cu < 0) return fail(i, "bad \\u escape");
          if (cu >= 0xDC00 && cu <= 0xDFFF) return fail(i, "lone surrogate escape");
          if (cu >= 0xD800 && cu <= 0xDBFF) {
            int low = unit(i + 6);
            if (low < 0xDC00 || low > 0xDFFF) return fail(i, "lone surrogate escape");
            i += 6;
          }
          i += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
          i += 2;
        } else {
          return fail(i, "bad escape");
        }
      } else if (c < 0x20) {
        return fail(i, "control character in a string");
      } else {
        std::size_t len = utf8_sequence(text, i);
        if (len == 0) return fail(i, "invalid UTF-8");
        i += len;
      }
    }
    return fail(i, "unterminated string");
  };
  auto scan_number = [&]() -> bool {
    std::size_t start = i;
    if (text[i] == '-') ++i;
    if (i < n && text[i] == '0') {
      ++i;
    } else if (i < n && is_digit(text[i])) {
      while (i < n && is_digit(text[i])) ++i;
    } else {
      return fail(start, "bad number");
    }
    if (i < n && text[i] == '.') {
      ++i;
      if (i >= n || !is_digit(text[i])) return fail(start, "bad number");
      while (i < n && is_digit(text[i])) ++i;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
      if (i >= n || !is_digit(text[i])) return fail(start, "bad number");
      while (i < n && is_digit(text[i])) ++i;
    }
    return true;
  };

  for (;;) {
    // A value at text[i].
    skip_space();
    if (i >= n) return fail(i, "unexpected end of text");
    char c = text[i];
    Kind kind;
    switch (c) {
      case '{': kind = Kind::object; break;
      case '[': kind = Kind::array; break;
      case '"': kind = Kind::string; break;
      case 't': kind = Kind::true_value; break;
      case 'f': kind = Kind::false_value; break;
      case 'n': kind = Kind::null_value; break;
      default:
        if (c != '-' && !is_digit(c)) return fail(i, "unexpected character");
        kind = Kind::number;
    }
    if (nodes_.size() >= max_values) {
      too_many_ = true;
      return fail(i, "more than " + std::to_string(max_values) + " values");
    }
    // (new_node(), written out: this loop runs once per value of every body read)
    auto node = static_cast<NodeId>(nodes_.size());
    Node& added = nodes_.emplace_back();
    added.kind = kind;
    added.parent = container;
    added.begin = static_cast<std::uint32_t>(i);
    if (container != kNone) {
      if (nodes_[container].kind == Kind::object) added.key_begin = key_begin, added.key_end = key_end;
      link_last(container, node);
    }
    bool opened = false;
    switch (kind) {
      case Kind::object:
      case Kind::array:
        ++i;
        skip_space();
        if (i < n && text[i] == (kind == Kind::object ? '}' : ']')) {
          ++i;  // empty
        } else {
          container = node;
          opened = true;
        }
        break;
      case Kind::string:
        if (!scan_string()) return false;
        break;
      case Kind::number:
        if (!scan_number()) return false;
        break;
      default: {
        std::string_view word = kind == Kind::true_value ? "true" : kind == Kind::false_value ? "false" : "null";
        if (text.substr(i, word.size()) != word) return fail(i, "unexpected character");
        i += word.size();
      }
    }
    nodes_[node].end = static_cast<std::uint32_t>(i);
    // What follows the value: a key (in an object just opened, or after a comma), another
    // element, the end of containers, or the end of the text.
    bool want_key = opened && kind == Kind::object;
    bool want_value = opened && kind == Kind::array;
    while (!want_key && !want_value) {
      skip_space();
      if (container == kNone) {
        if (i != n) return fail(i, "text after the value");
        return true;
      }
      bool in_object = nodes_[container].kind == Kind::object;
      if (i >= n) return fail(i, "unexpected end of text");
      if (text[i] == ',') {
        ++i;
        (in_object ? want_key : want_value) = true;
      } else if (text[i] == (in_object ? '}' : ']')) {
        ++i;
        nodes_[container].end = static_cast<std::uint32_t>(i);
        container = nodes_[container].parent;
      } else {
        return fail(i, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    if (want_key) {
      skip_space();
      if (i >= n || text[i] != '"') return fail(i, "expected a key");
      key_begin = static_cast<std::uint32_t>(i);
      if (!scan_string()) return false;
      key_end = static_cast<std::uint32_t>(i);
      skip_space();
      if (i >= n || text[i] != ':') return fail(i, "expected ':'");
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
