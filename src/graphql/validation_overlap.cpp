#include "graphql/validation_overlap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <variant>

#include "graphql/schema.hpp"
#include "graphql/text.hpp"

namespace portico::graphql {
namespace {

// A field as seen in a selection set: the type it was selected on, its node, its definition.
struct FieldAndDef {
  const Type* parent = nullptr;
  const Selection* node = nullptr;
  const Field* def = nullptr;
};

// Response key -> fields, in the order the keys first appear.
struct FieldMap {
  std::vector<std::pair<std::string_view, std::vector<FieldAndDef>>> entries;
  std::vector<FieldAndDef>& at(std::string_view key) {
    for (auto& [k, fields] : entries) {
      if (k == key) return fields;
    }
    entries.emplace_back(key, std::vector<FieldAndDef>{});
    return entries.back().second;
  }
  const std::vector<FieldAndDef>* find(std::string_view key) const {
    for (const auto& [k, fields] : entries) {
      if (k == key) return &fields;
    }
    return nullptr;
  }
};

struct FieldsAndFragments {
  FieldMap fields;
  std::vector<std::string_view> fragment_names;
};

// Why two fields conflict: a sentence, or the conflicts of their subfields (each named by
// the subfield's response key).
struct Reason {
  std::string key;
  std::string text;
  std::vector<Reason> subreasons;
};

struct Conflict {
  std::string response_name;
  Reason reason;
  std::vector<const Selection*> fields1;
  std::vector<const Selection*> fields2;
};

std::string reason_message(const Reason& reason) {
  if (reason.subreasons.empty()) return reason.text;
  std::string out;
  for (std::size_t i = 0; i < reason.subreasons.size(); ++i) {
    if (i) out += " and ";
    out += fmt::format("subfields \"{}\" conflict because {}", reason.subreasons[i].key, reason_message(reason.subreasons[i]));
  }
  return out;
}

// print(sortValueNode(value)): object fields sorted by name, so {a:1,b:2} equals {b:2,a:1}.
std::string sorted_value_text(const Value& value) {
  if (value.kind == Value::Kind::list) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.items.size(); ++i) out += (i ? ", " : "") + sorted_value_text(value.items[i]);
    return out + "]";
  }
  if (value.kind == Value::Kind::object) {
    std::vector<const ObjectField*> fields;
    for (const ObjectField& f : value.fields) fields.push_back(&f);
    std::stable_sort(fields.begin(), fields.end(), [](const ObjectField* a, const ObjectField* b) { return a->name < b->name; });
    std::string out = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      out += (i ? ", " : "") + std::string(fields[i]->name) + ": " + sorted_value_text(fields[i]->value);
    }
    return out + "}";
  }
  return print_value(value);
}

bool same_arguments(const Selection& a, const Selection& b) {
  if (a.arguments.size() != b.arguments.size()) return false;
  for (const Argument& arg1 : a.arguments) {
    const auto it = std::find_if(b.arguments.begin(), b.arguments.end(), [&](const Argument& arg2) { return arg2.name == arg1.name; });
    if (it == b.arguments.end()) return false;
    if (sorted_value_text(arg1.value) != sorted_value_text(it->value)) return false;
  }
  return true;
}

bool types_conflict(const TypeExpr& a, const TypeExpr& b) {
  if (a.is_list()) return b.is_list() ? types_conflict(a.of(), b.of()) : true;
  if (b.is_list()) return true;
  if (a.is_non_null()) return b.is_non_null() ? types_conflict(a.of(), b.of()) : true;
  if (b.is_non_null()) return true;
  if (a.named_type().is_leaf() || b.named_type().is_leaf()) return &a.named_type() != &b.named_type();
  return false;
}

}  // namespace

struct OverlapChecker::Impl {
  const Schema& schema;
  const Document& document;
  std::vector<Error>& errors;
  std::map<const SelectionSet*, FieldsAndFragments> cache;
  // Fragment pairs already compared, with whether they were compared as mutually exclusive.
  std::map<std::pair<std::string_view, std::string_view>, bool> compared_pairs;
  std::map<std::string_view, const FragmentDefinition*> fragments;
  // The pairs of selection sets being compared on the current path: comparing a pair again
  // inside itself means a fragment cycle through fields, which NoFragmentCycles reports; the
  // comparison stops there rather than following it until the stack runs out.
  std::set<std::pair<const SelectionSet*, const SelectionSet*>> comparing;

  Impl(const Schema& s, const Document& d, std::vector<Error>& e) : schema(s), document(d), errors(e) {
    for (const FragmentDefinition& f : d.fragments) fragments[f.name] = &f;  // the last of a name, as graphql-js
  }

  bool pair_seen(std::string_view a, std::string_view b, bool mutually_exclusive) const {
    const auto key = a < b ? std::make_pair(a, b) : std::make_pair(b, a);
    const auto it = compared_pairs.find(key);
    if (it == compared_pairs.end()) return false;
    // Compared as not mutually exclusive covers the exclusive case too.
    return mutually_exclusive ? true : it->second == mutually_exclusive;
  }
  void add_pair(std::string_view a, std::string_view b, bool mutually_exclusive) {
    const auto key = a < b ? std::make_pair(a, b) : std::make_pair(b, a);
    compared_pairs[key] = mutually_exclusive;
  }

  const Type* named(std::string_view name) const { return schema.type(name); }

  void collect(const Type* parent, const SelectionSet& set, FieldMap& fields, std::vector<std::string_view>& fragment_names) {
    for (const Selection& s : set.selections) {
      switch (s.kind) {
        case Selection::Kind::field: {
          const Field* def = nullptr;
          if (parent && (parent->kind == TypeKind::object || parent->kind == TypeKind::interface)) def = parent->field(s.name);
          fields.at(s.response_key()).push_back({parent, &s, def});
          break;
        }
        case Selection::Kind::fragment_spread:
          if (std::find(fragment_names.begin(), fragment_names.end(), s.name) == fragment_names.end()) {
            fragment_names.push_back(s.name);
          }
          break;
        case Selection::Kind::inline_fragment:
          collect(s.type_condition ? named(s.type_condition->name) : parent, s.selection_set, fields, fragment_names);
          break;
      }
    }
  }

  const FieldsAndFragments& fields_of(const Type* parent, const SelectionSet& set) {
    const auto it = cache.find(&set);
    if (it != cache.end()) return it->second;
    FieldsAndFragments result;
    collect(parent, set, result.fields, result.fragment_names);
    return cache.emplace(&set, std::move(result)).first->second;
  }

  const FieldsAndFragments& fields_of(const FragmentDefinition& fragment) {
    return fields_of(named(fragment.type_condition.name), fragment.selection_set);
  }

  std::vector<Conflict> within(const Type* parent, const SelectionSet& set) {
    std::vector<Conflict> conflicts;
    const FieldsAndFragments& mine = fields_of(parent, set);
    for (const auto& [key, fields] : mine.fields.entries) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        for (std::size_t j = i + 1; j < fields.size(); ++j) {
          if (auto c = find_conflict(false, key, fields[i], fields[j])) conflicts.push_back(std::move(*c));
        }
      }
    }
    const auto names = mine.fragment_names;  // a copy: the cache may grow below
    for (std::size_t i = 0; i < names.size(); ++i) {
      between_fields_and_fragment(conflicts, false, mine.fields, names[i]);
      for (std::size_t j = i + 1; j < names.size(); ++j) between_fragments(conflicts, false, names[i], names[j]);
    }
    return conflicts;
  }

  void between_fields_and_fragment(std::vector<Conflict>& conflicts, bool exclusive, const FieldMap& fields,
                                   std::string_view fragment_name) {
    const auto it = fragments.find(fragment_name);
    if (it == fragments.end()) return;
    const FieldsAndFragments& theirs = fields_of(*it->second);
    if (&fields == &theirs.fields) return;
    between(conflicts, exclusive, fields, theirs.fields);
    const auto referenced = theirs.fragment_names;
    for (std::string_view name : referenced) {
      if (pair_seen(name, fragment_name, exclusive)) continue;
      add_pair(name, fragment_name, exclusive);
      between_fields_and_fragment(conflicts, exclusive, fields, name);
    }
  }

  void between_fragments(std::vector<Conflict>& conflicts, bool exclusive, std::string_view name1, std::string_view name2) {
    if (name1 == name2) return;
    if (pair_seen(name1, name2, exclusive)) return;
    add_pair(name1, name2, exclusive);
    const auto it1 = fragments.find(name1);
    const auto it2 = fragments.find(name2);
    if (it1 == fragments.end() || it2 == fragments.end()) return;
    const FieldsAndFragments& f1 = fields_of(*it1->second);
    const FieldsAndFragments& f2 = fields_of(*it2->second);
    between(conflicts, exclusive, f1.fields, f2.fields);
    const auto referenced2 = f2.fragment_names;
    const auto referenced1 = f1.fragment_names;
    for (std::string_view n : referenced2) between_fragments(conflicts, exclusive, name1, n);
    for (std::string_view n : referenced1) between_fragments(conflicts, exclusive, n, name2);
  }

  std::vector<Conflict> between_sub_selections(bool exclusive, const Type* parent1, const SelectionSet& set1,
                                               const Type* parent2, const SelectionSet& set2) {
    std::vector<Conflict> conflicts;
    const auto pair = std::make_pair(&set1, &set2);
    if (!comparing.insert(pair).second) return conflicts;
    struct Done {
      std::set<std::pair<const SelectionSet*, const SelectionSet*>>& set;
      std::pair<const SelectionSet*, const SelectionSet*> pair;
      ~Done() { set.erase(pair); }
    } done{comparing, pair};
    const FieldsAndFragments& a = fields_of(parent1, set1);
    const FieldsAndFragments& b = fields_of(parent2, set2);
    between(conflicts, exclusive, a.fields, b.fields);
    const auto names1 = a.fragment_names;
    const auto names2 = b.fragment_names;
    for (std::string_view n2 : names2) between_fields_and_fragment(conflicts, exclusive, a.fields, n2);
    for (std::string_view n1 : names1) between_fields_and_fragment(conflicts, exclusive, b.fields, n1);
    for (std::string_view n1 : names1) {
      for (std::string_view n2 : names2) between_fragments(conflicts, exclusive, n1, n2);
    }
    return conflicts;
  }

  void between(std::vector<Conflict>& conflicts, bool exclusive, const FieldMap& map1, const FieldMap& map2) {
    for (const auto& [key, fields1] : map1.entries) {
      const auto* fields2 = map2.find(key);
      if (!fields2) continue;
      for (const FieldAndDef& f1 : fields1) {
        for (const FieldAndDef& f2 : *fields2) {
          if (auto c = find_conflict(exclusive, key, f1, f2)) conflicts.push_back(std::move(*c));
        }
      }
    }
  }

  std::optional<Conflict> find_conflict(bool parents_exclusive, std::string_view key, const FieldAndDef& f1, const FieldAndDef& f2) {
    const bool exclusive = parents_exclusive || (f1.parent != f2.parent && f1.parent && f2.parent &&
                                                 f1.parent->kind == TypeKind::object && f2.parent->kind == TypeKind::object);
    const auto simple = [&](std::string text) {
      Conflict c;
      c.response_name = std::string(key);
      c.reason.text = std::move(text);
      c.fields1 = {f1.node};
      c.fields2 = {f2.node};
      return c;
    };
    if (!exclusive) {
      if (f1.node->name != f2.node->name) {
        return simple(fmt::format("\"{}\" and \"{}\" are different fields", f1.node->name, f2.node->name));
      }
      if (!same_arguments(*f1.node, *f2.node)) return simple("they have differing arguments");
    }
    if (f1.def && f2.def && types_conflict(f1.def->type, f2.def->type)) {
      return simple(fmt::format("they return conflicting types \"{}\" and \"{}\"", f1.def->type.to_string(), f2.def->type.to_string()));
    }
    if (f1.node->has_selection_set && f2.node->has_selection_set) {
      const Type* t1 = f1.def ? &f1.def->type.named_type() : nullptr;
      const Type* t2 = f2.def ? &f2.def->type.named_type() : nullptr;
      std::vector<Conflict> sub = between_sub_selections(exclusive, t1, f1.node->selection_set, t2, f2.node->selection_set);
      if (sub.empty()) return std::nullopt;
      Conflict c;
      c.response_name = std::string(key);
      c.fields1 = {f1.node};
      c.fields2 = {f2.node};
      for (Conflict& s : sub) {
        s.reason.key = s.response_name;
        c.reason.subreasons.push_back(std::move(s.reason));
        c.fields1.insert(c.fields1.end(), s.fields1.begin(), s.fields1.end());
        c.fields2.insert(c.fields2.end(), s.fields2.begin(), s.fields2.end());
      }
      return c;
    }
    return std::nullopt;
  }
};

OverlapChecker::OverlapChecker(const Schema& schema, const Document& document, std::vector<Error>& errors)
    : impl_(std::make_unique<Impl>(schema, document, errors)) {}

OverlapChecker::~OverlapChecker() = default;

void OverlapChecker::check(const Type* parent, const SelectionSet& set) {
  for (const Conflict& c : impl_->within(parent, set)) {
    Error error;
    error.message = fmt::format(
        "Fields \"{}\" conflict because {}. Use different aliases on the fields to fetch both if this was intentional.",
        c.response_name, reason_message(c.reason));
    for (const Selection* s : c.fields1) error.locations.push_back(impl_->document.location(s->offset));
    for (const Selection* s : c.fields2) error.locations.push_back(impl_->document.location(s->offset));
    impl_->errors.push_back(std::move(error));
  }
}

}  // namespace portico::graphql
