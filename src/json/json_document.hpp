// A JSON text as a tree of spans over the text, edited in place and written back with every
// untouched part copied byte for byte.
//
// Why not a DOM (boost::json): re-encoding a body a gateway only meant to trim changes what
// the client gets beyond the edit: numbers beyond double precision (a 20-digit id) lose
// digits, escapes and key order change. Here a body with `password_hash` removed is the
// service's own text minus that member; only containers on the path of an edit are
// re-written (compactly), and everything under them that was not touched is copied as it was.
//
// The parser is strict (RFC 8259: one value, UTF-8 validated, no trailing commas, no
// comments; surrogate escapes only in pairs, as I-JSON) and iterative: nesting depth is bounded by the text's size, not by the stack
// (a body nested 10,000 deep parses like any other). Duplicate keys are kept as they are;
// the editing operations (json/json_edits.hpp) act on every member of a name.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::json_edit {

class Document {
 public:
  enum class Kind : std::uint8_t { object, array, string, number, true_value, false_value, null_value };
  using NodeId = std::int32_t;
  static constexpr NodeId kNone = -1;

  // A document holds about 44 bytes per value: a text of more values than this is refused
  // (too_many_values()), so a hostile body of tiny values ([0,0,0,...]) costs bounded memory.
  static constexpr std::size_t kDefaultMaxValues = 1u << 20;

  static constexpr std::size_t kKeepAll = static_cast<std::size_t>(-1);

  // Parses `text` (which must outlive the document). False when it is not one JSON value, or
  // has more than `max_values` values; error() then says what and where.
  // Every value is checked, but only values at most `keep_depth` deep (the root is at depth
  // 0) get nodes: a container at keep_depth keeps its text and no children
  // (children_skipped()), so edits must not reach below it (json_edit::depth_to_keep() says
  // how deep an operation reaches). Trimming one field of a large body then costs a scan of
  // the text, not a node per value.
  bool parse(std::string_view text, std::size_t max_values = kDefaultMaxValues, std::size_t keep_depth = kKeepAll);
  const std::string& error() const { return error_; }
  bool too_many_values() const { return too_many_; }

  NodeId root() const { return nodes_.empty() ? kNone : 0; }
  Kind kind(NodeId n) const { return nodes_[n].kind; }
  bool is_container(NodeId n) const { return kind(n) == Kind::object || kind(n) == Kind::array; }
  // Kong's (Lua's) truthiness: absent and false are false; null is a value (cjson.null).
  bool truthy(NodeId n) const { return n != kNone && kind(n) != Kind::false_value; }

  // Children in order (an object's members, an array's elements); none for a container
  // deeper than the parse kept (callers stay within the depth they asked for).
  NodeId first_child(NodeId n) const {
    assert(!nodes_[n].children_skipped);
    return nodes_[n].first;
  }
  bool children_skipped(NodeId n) const { return nodes_[n].children_skipped; }
  NodeId next_sibling(NodeId n) const { return nodes_[n].next; }
  // Whether member `n`'s key, unescaped, is `name`.
  bool key_is(NodeId n, std::string_view name) const;
  // The member of object `parent` named `name` that counts (the last one, as most parsers
  // read duplicates), or kNone.
  NodeId member(NodeId parent, std::string_view name) const;
  // The `index`th element of array `parent`, or kNone.
  NodeId element(NodeId parent, std::size_t index) const;
  // A string node's value, unescaped (into `scratch` when it has escapes).
  std::string_view string_value(NodeId n, std::string& scratch) const;
  // The node's JSON text as it will be written.
  std::string text_of(NodeId n) const;

  // --- edits (each marks the path to the root as changed) ---
  // Unlinks every child of `parent` for which pred(child) holds, in one pass; returns how many.
  template <typename Pred>
  std::size_t unlink_if(NodeId parent, Pred pred) {
    assert(!nodes_[parent].children_skipped);
    std::size_t removed = 0;
    NodeId prev = kNone;
    for (NodeId c = nodes_[parent].first; c != kNone; c = nodes_[c].next) {
      if (!pred(c)) {
        prev = c;
        continue;
      }
      if (prev == kNone) nodes_[parent].first = nodes_[c].next;
      else nodes_[prev].next = nodes_[c].next;
      if (nodes_[parent].last == c) nodes_[parent].last = prev;
      ++removed;
    }
    if (removed > 0) mark_dirty(parent);
    return removed;
  }
  void set_value(NodeId n, Kind kind, std::string json_text);  // `json_text`: an encoded JSON value
  void set_key(NodeId member, std::string_view name);           // the key, unescaped
  // Appends a member `name` (unescaped) / an element with the encoded value; returns it (an
  // element added to an array this document wrote itself goes into its text: returns the array).
  NodeId add_member(NodeId object, std::string_view name, Kind kind, std::string json_text);
  NodeId add_element(NodeId array, Kind kind, std::string json_text);
  bool changed() const { return !nodes_.empty() && nodes_[0].dirty; }

  // The document as JSON: untouched values as they were in the text (whitespace included),
  // edited containers compact. Appends to `out`.
  void write(std::string& out) const;

 private:
  struct Node {
    Kind kind;
    bool dirty = false;             // this node or something under it was edited
    bool children_skipped = false;  // a container at the parse's keep_depth: no child nodes
    std::uint32_t begin = 0, end = 0;          // the value's span in the text
    std::uint32_t key_begin = 0, key_end = 0;  // a member's key span (with its quotes)
    NodeId parent = kNone, first = kNone, last = kNone, next = kNone;
    std::int32_t text = -1;      // replaced value: index into texts_
    std::int32_t key_text = -1;  // replaced key (encoded, with quotes): index into texts_
  };
  NodeId new_node(Kind kind, NodeId parent);
  void link_last(NodeId parent, NodeId child);
  void mark_dirty(NodeId n);
  std::string_view raw_key(NodeId n) const;
  void write_node(NodeId n, std::string& out) const;
  bool fail(std::size_t at, std::string_view what);

  std::string_view text_;
  std::vector<Node> nodes_;
  std::vector<std::string> texts_;
  std::string error_;
  bool too_many_ = false;
};

// `s` as a JSON string (quotes included), escaped as RFC 8259 requires.
void append_json_string(std::string& out, std::string_view s);
// Decodes the inside of a JSON string (without quotes) into `out`; false when malformed.
bool unescape_json_string(std::string_view escaped, std::string& out);

}  // namespace portico::json_edit
