#include "json/json_edits.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace portico::json_edit {
namespace {

using NodeId = Document::NodeId;
using Kind = Document::Kind;
using StepKind = Path::Step::Kind;

bool parse_steps(std::string_view name, std::vector<Path::Step>& steps) {
  std::size_t i = 0;
  bool first = true;
  while (i <= name.size()) {
    std::size_t start = i;
    while (i < name.size() && name[i] != '.' && name[i] != '[') ++i;
    std::string_view key = name.substr(start, i - start);
    if (!key.empty()) steps.push_back({StepKind::key, std::string(key), 0});
    else if (!(first && i < name.size() && name[i] == '[')) return false;  // "a..b", ".a", "a."
    first = false;
    while (i < name.size() && name[i] == '[') {
      std::size_t close = name.find(']', i);
      if (close == std::string_view::npos) return false;
      std::string_view inside = name.substr(i + 1, close - i - 1);
      if (inside == "*") {
        steps.push_back({StepKind::all, {}, 0});
      } else {
        if (inside.empty() || inside.size() > 9) return false;
        std::size_t index = 0;
        for (char c : inside) {
          if (c < '0' || c > '9') return false;
          index = index * 10 + static_cast<std::size_t>(c - '0');
        }
        steps.push_back({StepKind::index, {}, index});
      }
      i = close + 1;
    }
    if (i == name.size()) return true;
    if (name[i] != '.') return false;  // "a[0]b"
    ++i;
    if (i == name.size()) return false;
  }
  return true;
}

// The steps to follow in `doc`: a top-level key spelled like the whole name wins (Kong's
// literal meaning).
std::vector<Path::Step> literal_steps(const Path& path) { return {{StepKind::key, path.name, 0}}; }

bool has_literal_member(const Document& doc, const Path& path) {
  return path.steps.size() != 1 && doc.root() != Document::kNone && doc.kind(doc.root()) == Kind::object &&
         doc.member(doc.root(), path.name) != Document::kNone;
}

// Appends the children of `node` that `step` names.
void add_targets(const Document& doc, NodeId node, const Path::Step& step, std::vector<NodeId>& out) {
  switch (step.kind) {
    case StepKind::key:
      if (doc.kind(node) != Kind::object) break;
      for (NodeId c = doc.first_child(node); c != Document::kNone; c = doc.next_sibling(c)) {
        if (doc.key_is(c, step.key)) out.push_back(c);
      }
      break;
    case StepKind::index:
      if (doc.kind(node) == Kind::array) {
        NodeId e = doc.element(node, step.index);
        if (e != Document::kNone) out.push_back(e);
      }
      break;
    case StepKind::all:
      if (!doc.is_container(node)) break;
      for (NodeId c = doc.first_child(node); c != Document::kNone; c = doc.next_sibling(c)) out.push_back(c);
      break;
  }
}

std::vector<NodeId> targets_in(const Document& doc, NodeId parent, const Path::Step& step) {
  std::vector<NodeId> out;
  add_targets(doc, parent, step, out);
  return out;
}

// The containers the path's last step applies to: what its other steps reach from the root.
std::vector<NodeId> parents_of(const Document& doc, const std::vector<Path::Step>& steps) {
  std::vector<NodeId> current;
  if (doc.root() == Document::kNone || steps.empty()) return current;
  current.push_back(doc.root());
  for (std::size_t s = 0; s + 1 < steps.size(); ++s) {
    std::vector<NodeId> next;
    for (NodeId node : current) add_targets(doc, node, steps[s], next);
    current = std::move(next);
  }
  return current;
}

// Calls fn(parent, last step) for each place the path names.
template <typename Fn>
void for_each_place(const Document& doc, const Path& path, Fn fn) {
  std::vector<Path::Step> literal;
  const std::vector<Path::Step>* steps = &path.steps;
  if (has_literal_member(doc, path)) steps = &(literal = literal_steps(path));
  if (steps->empty()) return;
  for (NodeId parent : parents_of(doc, *steps)) fn(parent, steps->back());
}

// add and append: the objects that get the key; when the path reaches none, the root object
// with the whole name as its key (Kong's meaning of the name).
template <typename Fn>
bool for_each_object_to_fill(Document& doc, const Path& path, Fn fn) {
  if (!path.ends_with_key() || doc.root() == Document::kNone) return false;
  bool changed = false;
  bool reached = false;
  if (!has_literal_member(doc, path)) {
    for (NodeId parent : parents_of(doc, path.steps)) {
      if (doc.kind(parent) != Kind::object) continue;
      reached = true;
      changed |= fn(parent, std::string_view(path.steps.back().key));
    }
  }
  if (!reached && doc.kind(doc.root()) == Kind::object) changed |= fn(doc.root(), std::string_view(path.name));
  return changed;
}

}  // namespace

Path parse_path(std::string_view name) {
  Path path;
  path.name = std::string(name);
  if (name.find_first_of(".[") != std::string_view::npos && parse_steps(name, path.steps)) return path;
  path.steps = literal_steps(path);
  return path;
}

Value string_value(std::string_view text) {
  Value v;
  v.kind = Kind::string;
  append_json_string(v.json, text);
  return v;
}

bool typed_value(std::string_view text, std::string_view type, Value& out) {
  if (type == "boolean") {
    out.kind = text == "true" ? Kind::true_value : Kind::false_value;
    out.json = text == "true" ? "true" : "false";
    return true;
  }
  if (type != "number") {
    out = string_value(text);
    return true;
  }
  // Lua's tonumber(): decimal or hex, surrounding spaces allowed; the whole text must be a number.
  std::string copy(text);
  char* end = nullptr;
  double d = std::strtod(copy.c_str(), &end);
  while (end != nullptr && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) ++end;
  if (copy.empty() || end == copy.c_str() || *end != '\0' || !std::isfinite(d)) return false;
  char buf[40];
  if (d == std::floor(d) && std::fabs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
  else std::snprintf(buf, sizeof buf, "%.14g", d);  // lua-cjson's precision
  out.kind = Kind::number;
  out.json = buf;
  return true;
}

bool remove(Document& doc, const Path& path) {
  bool changed = false;
  for_each_place(doc, path, [&](NodeId parent, const Path::Step& step) {
    std::vector<NodeId> targets = targets_in(doc, parent, step);
    if (targets.empty()) return;
    // One pass over the parent, however many duplicates: a body of a million repeated keys
    // costs linear time, not quadratic.
    std::size_t next = 0;  // targets are in child order
    doc.unlink_if(parent, [&](NodeId c) { return next < targets.size() && targets[next] == c && ++next; });
    changed = true;
  });
  return changed;
}

bool rename(Document& doc, const Path& path, std::string_view new_key, bool only_truthy) {
  if (!path.ends_with_key()) return false;
  bool changed = false;
  for_each_place(doc, path, [&](NodeId parent, const Path::Step& step) {
    if (step.key == new_key || doc.kind(parent) != Kind::object) return;
    std::vector<NodeId> moving;
    for (NodeId m : targets_in(doc, parent, step)) {
      if (!only_truthy || doc.truthy(m)) moving.push_back(m);
    }
    if (moving.empty()) return;
    doc.unlink_if(parent, [&](NodeId c) { return doc.key_is(c, new_key); });
    for (NodeId m : moving) doc.set_key(m, new_key);
    changed = true;
  });
  return changed;
}

bool replace(Document& doc, const Path& path, const Value& value) {
  bool changed = false;
  for_each_place(doc, path, [&](NodeId parent, const Path::Step& step) {
    for (NodeId target : targets_in(doc, parent, step)) {
      if (!doc.truthy(target)) continue;
      doc.set_value(target, value.kind, value.json);
      changed = true;
    }
  });
  return changed;
}

bool add(Document& doc, const Path& path, const Value& value) {
  return for_each_object_to_fill(doc, path, [&](NodeId object, std::string_view key) {
    NodeId existing = doc.member(object, key);
    if (existing == Document::kNone) {
      doc.add_member(object, key, value.kind, value.json);
      return true;
    }
    if (doc.truthy(existing)) return false;
    doc.set_value(existing, value.kind, value.json);
    return true;
  });
}

bool append(Document& doc, const Path& path, const Value& value) {
  return for_each_object_to_fill(doc, path, [&](NodeId object, std::string_view key) {
    NodeId existing = doc.member(object, key);
    if (existing == Document::kNone) {
      doc.add_member(object, key, Kind::array, "[" + value.json + "]");
    } else if (doc.kind(existing) == Kind::array) {
      doc.add_element(existing, value.kind, value.json);
    } else if (doc.kind(existing) == Kind::string) {
      doc.set_value(existing, Kind::array, "[" + doc.text_of(existing) + "," + value.json + "]");
    } else {
      doc.set_value(existing, Kind::array, "[" + value.json + "]");  // Kong: the old value is lost
    }
    return true;
  });
}

}  // namespace portico::json_edit
