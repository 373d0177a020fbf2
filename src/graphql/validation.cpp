#include "graphql/validation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "graphql/schema.hpp"
#include "graphql/text.hpp"
#include "graphql/validation_overlap.hpp"
#include "graphql/values.hpp"

namespace portico::graphql {
namespace {

// A variable used somewhere in an operation or fragment: where, and the type expected there.
struct VariableUsage {
  std::string_view name;
  std::uint32_t offset = 0;
  std::optional<TypeExpr> type;      // unknown when the position's type is unknown
  bool location_has_default = false;  // the argument or input field has a default value
};

// What the walk learned about one operation or fragment.
struct DefinitionFacts {
  std::vector<VariableUsage> usages;
  std::vector<std::string_view> spreads;  // fragment names spread directly, in order
};

std::string_view location_name(OperationType type) {
  switch (type) {
    case OperationType::query: return "QUERY";
    case OperationType::mutation: return "MUTATION";
    case OperationType::subscription: return "SUBSCRIPTION";
  }
  return "QUERY";
}

class Validator {
 public:
  Validator(const Schema& schema, const Document& document)
      : schema_(schema), document_(document), overlap_(schema, document, errors_) {}

  std::vector<Error> run() {
    std::map<std::string_view, const FragmentDefinition*> first_of_name;
    for (const FragmentDefinition& f : document_.fragments) {
      const auto [first, inserted] = first_of_name.emplace(f.name, &f);
      if (!inserted) {
        report(fmt::format("There can be only one fragment named \"{}\".", f.name), {first->second->name_offset, f.name_offset});
      }
      fragments_[f.name] = &f;  // a name given twice means its last definition, as in graphql-js
    }
    check_definitions();
    // Field merging follows fragment spreads; through a cycle it would never end (graphql-js
    // overflows its stack there). A document with a cycle is refused for the cycle alone.
    const std::size_t errors_before_cycles = errors_.size();
    check_fragment_cycles();
    check_overlaps_ = errors_.size() == errors_before_cycles;
    // In document order: the field-merging rule remembers the fragment pairs it compared, so
    // what it reports depends on the order it meets them (as in graphql-js).
    std::vector<std::pair<std::uint32_t, std::ptrdiff_t>> order;  // offset, operation index or -1 - fragment index
    for (std::size_t i = 0; i < document_.operations.size(); ++i) order.emplace_back(document_.operations[i].offset, i);
    for (std::size_t i = 0; i < document_.fragments.size(); ++i) {
      order.emplace_back(document_.fragments[i].offset, -1 - static_cast<std::ptrdiff_t>(i));
    }
    std::sort(order.begin(), order.end());
    for (const auto& [offset, index] : order) {
      if (index >= 0) {
        walk_operation(document_.operations[static_cast<std::size_t>(index)], operation_facts_[static_cast<std::size_t>(index)]);
      } else {
        walk_fragment(document_.fragments[static_cast<std::size_t>(-1 - index)]);
      }
    }
    check_fragment_usage();
    for (std::size_t i = 0; i < document_.operations.size(); ++i) check_variables(document_.operations[i], operation_facts_[i]);
    return std::move(errors_);
  }

 private:
  void report(std::string message, std::initializer_list<std::uint32_t> offsets) {
    errors_.push_back(document_error(document_, std::move(message), offsets));
  }
  void report_at(std::string message, const std::vector<std::uint32_t>& offsets) {
    Error error;
    error.message = std::move(message);
    for (std::uint32_t o : offsets) error.locations.push_back(document_.location(o));
    errors_.push_back(std::move(error));
  }

  // ExecutableDefinitions, UniqueOperationNames, LoneAnonymousOperation.
  void check_definitions() {
    for (const TypeSystemDefinition& def : document_.type_definitions) {
      const std::string name = def.kind == TypeSystemDefinition::Kind::schema ? "schema" : fmt::format("\"{}\"", def.name);
      report(fmt::format("The {} definition is not executable.", name), {def.offset});
      check_type_system_directives(def);
    }
    std::map<std::string_view, const OperationDefinition*> names;
    for (const OperationDefinition& op : document_.operations) {
      if (op.name.empty()) {
        if (document_.operations.size() > 1) report("This anonymous operation must be the only defined operation.", {op.offset});
        continue;
      }
      const auto [it, inserted] = names.emplace(op.name, &op);
      if (!inserted) {
        report(fmt::format("There can be only one operation named \"{}\".", op.name), {it->second->name_offset, op.name_offset});
      }
    }
    operation_facts_.resize(document_.operations.size());
  }

  // The other rules look at type-system definitions too (KnownDirectives...).
  void check_type_system_directives(const TypeSystemDefinition& def) {
    using Kind = TypeSystemDefinition::Kind;
    static constexpr std::pair<Kind, std::string_view> kLocations[] = {
        {Kind::schema, "SCHEMA"}, {Kind::scalar, "SCALAR"}, {Kind::object, "OBJECT"}, {Kind::interface, "INTERFACE"},
        {Kind::union_type, "UNION"}, {Kind::enum_type, "ENUM"}, {Kind::input_object, "INPUT_OBJECT"}};
    for (const auto& [kind, location] : kLocations) {
      if (kind == def.kind) check_directives(def.directives, location);
    }
    for (const FieldDefinition& f : def.fields) {
      check_directives(f.directives, "FIELD_DEFINITION");
      for (const InputValueDefinition& a : f.arguments) check_directives(a.directives, "ARGUMENT_DEFINITION");
    }
    for (const EnumValueDefinition& v : def.values) check_directives(v.directives, "ENUM_VALUE");
    for (const InputValueDefinition& f : def.input_fields) check_directives(f.directives, "INPUT_FIELD_DEFINITION");
    for (const InputValueDefinition& a : def.arguments) check_directives(a.directives, "ARGUMENT_DEFINITION");
  }

  // --- types ---
  std::optional<TypeExpr> type_from_ref(const TypeRef& ref) const {
    switch (ref.kind) {
      case TypeRef::Kind::named: {
        const Type* t = schema_.type(ref.name);
        if (!t) return std::nullopt;
        return TypeExpr::named(t);
      }
      case TypeRef::Kind::list: {
        auto inner = type_from_ref(*ref.of);
        if (!inner) return std::nullopt;
        return TypeExpr::list_of(*inner);
      }
      case TypeRef::Kind::non_null: {
        auto inner = type_from_ref(*ref.of);
        if (!inner) return std::nullopt;
        return TypeExpr::non_null_of(*inner);
      }
    }
    return std::nullopt;
  }

  // KnownTypeNames: a named type that the schema does not hold.
  const Type* known_type(std::string_view name, std::uint32_t offset) {
    if (const Type* t = schema_.type(name)) return t;
    std::vector<std::string_view> names;
    for (const Type* t : schema_.types()) names.emplace_back(t->name);
    report(fmt::format("Unknown type \"{}\".{}", name, did_you_mean(suggestion_list(name, names))), {offset});
    return nullptr;
  }

  const TypeRef& innermost(const TypeRef& ref) const { return ref.kind == TypeRef::Kind::named ? ref : innermost(*ref.of); }

  // --- operations and fragments ---
  void walk_operation(const OperationDefinition& op, DefinitionFacts& facts) {
    facts_ = &facts;
    std::map<std::string_view, std::vector<std::uint32_t>> variable_names;
    for (const VariableDefinition& v : op.variables) {
      variable_names[v.name].push_back(v.name_offset);
      const TypeRef& named = innermost(v.type);
      const Type* base = known_type(named.name, named.offset);
      std::optional<TypeExpr> type;
      if (base) {
        type = type_from_ref(v.type);
        if (!base->is_input()) {
          report(fmt::format("Variable \"${}\" cannot be non-input type \"{}\".", v.name, print_type(v.type)), {v.type.offset});
        }
      }
      if (v.default_value) check_value(*v.default_value, type && base->is_input() ? type : std::nullopt, false);
      check_directives(v.directives, "VARIABLE_DEFINITION");
    }
    for (const auto& [name, offsets] : variable_names) {
      if (offsets.size() > 1) report_at(fmt::format("There can be only one variable named \"${}\".", name), offsets);
    }
    current_operation_variables_ = &op.variables;
    check_directives(op.directives, location_name(op.type));
    const Type* root = schema_.root_type(op.type);
    if (op.type == OperationType::subscription) check_subscription(op, root);
    walk_selection_set(root, op.selection_set);
    facts_ = nullptr;
  }

  void walk_fragment(const FragmentDefinition& f) {
    DefinitionFacts& facts = fragment_facts_[f.name];
    if (fragments_.at(f.name) != &f) {
      // A second fragment of the same name: walked for its own errors, facts kept apart.
      static thread_local DefinitionFacts discarded;
      discarded = {};
      facts_ = &discarded;
    } else {
      facts_ = &facts;
    }
    const Type* type = known_type(f.type_condition.name, f.type_condition.offset);
    if (type && !type->is_composite()) {
      report(fmt::format("Fragment \"{}\" cannot condition on non composite type \"{}\".", f.name, f.type_condition.name),
             {f.type_condition.offset});
    }
    check_directives(f.directives, "FRAGMENT_DEFINITION");
    walk_selection_set(type && type->is_composite() ? type : nullptr, f.selection_set);
    facts_ = nullptr;
  }

  void walk_selection_set(const Type* parent, const SelectionSet& set) {
    if (check_overlaps_) overlap_.check(parent, set);
    for (const Selection& s : set.selections) {
      switch (s.kind) {
        case Selection::Kind::field: walk_field(parent, s); break;
        case Selection::Kind::inline_fragment: walk_inline_fragment(parent, s); break;
        case Selection::Kind::fragment_spread: walk_spread(parent, s); break;
      }
    }
  }

  // The definition of a field selected on `parent`, introspection fields included.
  const Field* field_definition(const Type* parent, std::string_view name) const {
    if (!parent) return nullptr;
    if (const Field* meta = schema_.meta_field(*parent, name)) return meta;
    if (parent->kind == TypeKind::object || parent->kind == TypeKind::interface) return parent->field(name);
    return nullptr;
  }

  void walk_field(const Type* parent, const Selection& field) {
    const Field* def = field_definition(parent, field.name);
    if (parent && !def) report_unknown_field(*parent, field);
    check_directives(field.directives, "FIELD");
    check_arguments(field.arguments, def ? &def->arguments : nullptr,
                    def ? fmt::format("field \"{}.{}\"", parent->name, def->name) : std::string());
    if (def) {
      for (const InputValue& a : def->arguments) {
        if (a.type.is_non_null() && !a.default_value && !a.default_literal &&
            std::none_of(field.arguments.begin(), field.arguments.end(), [&](const Argument& g) { return g.name == a.name; })) {
          report(fmt::format("Field \"{}\" argument \"{}\" of type \"{}\" is required, but it was not provided.", def->name, a.name,
                             a.type.to_string()),
                 {field.offset});
        }
      }
      const Type& type = def->type.named_type();
      if (type.is_leaf() && field.has_selection_set) {
        report(fmt::format("Field \"{}\" must not have a selection since type \"{}\" has no subfields.", field.name,
                           def->type.to_string()),
               {field.selection_set.offset});
      } else if (!type.is_leaf() && !field.has_selection_set) {
        report(fmt::format("Field \"{}\" of type \"{}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                           field.name, def->type.to_string(), field.name),
               {field.offset});
      }
    }
    if ((field.name == "__schema" || field.name == "__type") && introspection_too_deep(field)) {
      report("Maximum introspection depth exceeded", {field.offset});
    }
    if (field.has_selection_set) {
      const Type* type = def ? &def->type.named_type() : nullptr;
      walk_selection_set(type && type->is_composite() ? type : nullptr, field.selection_set);
    }
  }

  // FieldsOnCorrectType, with graphql-js's suggestions: types of an abstract parent that have
  // the field (most used first), else fields with close names.
  void report_unknown_field(const Type& parent, const Selection& field) {
    std::vector<std::string> suggested_types;
    if (parent.is_abstract()) {
      std::vector<const Type*> types;
      std::map<const Type*, int> usage;
      for (const Type* possible : schema_.possible_types(parent)) {
        if (!possible->field(field.name)) continue;
        if (std::find(types.begin(), types.end(), possible) == types.end()) types.push_back(possible);
        usage[possible] = 1;
        for (const Type* i : possible->interfaces) {
          if (!i->field(field.name)) continue;
          if (std::find(types.begin(), types.end(), i) == types.end()) types.push_back(i);
          ++usage[i];
        }
      }
      std::stable_sort(types.begin(), types.end(), [&](const Type* a, const Type* b) {
        const int diff = usage[b] - usage[a];
        if (diff != 0) return diff < 0;
        if (a->kind == TypeKind::interface && schema_.is_sub_type(*a, *b)) return true;
        if (b->kind == TypeKind::interface && schema_.is_sub_type(*b, *a)) return false;
        return natural_compare(a->name, b->name) < 0;
      });
      for (const Type* t : types) suggested_types.push_back(t->name);
    }
    std::string hint = did_you_mean(suggested_types, "to use an inline fragment on");
    if (hint.empty() && (parent.kind == TypeKind::object || parent.kind == TypeKind::interface)) {
      std::vector<std::string_view> names;
      for (const Field& f : parent.fields) names.emplace_back(f.name);
      hint = did_you_mean(suggestion_list(field.name, names));
    }
    report(fmt::format("Cannot query field \"{}\" on type \"{}\".{}", field.name, parent.name, hint), {field.offset});
  }

  bool introspection_too_deep(const Selection& node) {
    std::set<std::string_view> visiting;
    std::function<bool(const Selection&, int)> check = [&](const Selection& s, int depth) -> bool {
      if (s.kind == Selection::Kind::fragment_spread) {
        if (visiting.count(s.name)) return false;
        const auto it = fragments_.find(s.name);
        if (it == fragments_.end()) return false;
        visiting.insert(s.name);
        bool deep = false;
        for (const Selection& child : it->second->selection_set.selections) {
          if (check(child, depth)) {
            deep = true;
            break;
          }
        }
        visiting.erase(s.name);
        return deep;
      }
      if (s.kind == Selection::Kind::field &&
          (s.name == "fields" || s.name == "interfaces" || s.name == "possibleTypes" || s.name == "inputFields")) {
        if (++depth >= 3) return true;
      }
      if (s.has_selection_set) {
        for (const Selection& child : s.selection_set.selections) {
          if (check(child, depth)) return true;
        }
      }
      return false;
    };
    return check(node, 0);
  }

  void walk_inline_fragment(const Type* parent, const Selection& fragment) {
    const Type* type = parent;
    if (fragment.type_condition) {
      type = known_type(fragment.type_condition->name, fragment.type_condition->offset);
      if (type && !type->is_composite()) {
        report(fmt::format("Fragment cannot condition on non composite type \"{}\".", type->name), {fragment.type_condition->offset});
      }
    }
    if (type && parent && type->is_composite() && !schema_.types_overlap(*type, *parent)) {
      report(fmt::format("Fragment cannot be spread here as objects of type \"{}\" can never be of type \"{}\".", parent->name,
                         type->name),
             {fragment.offset});
    }
    check_directives(fragment.directives, "INLINE_FRAGMENT");
    walk_selection_set(type && type->is_composite() ? type : nullptr, fragment.selection_set);
  }

  void walk_spread(const Type* parent, const Selection& spread) {
    facts_->spreads.push_back(spread.name);
    const auto it = fragments_.find(spread.name);
    if (it == fragments_.end()) {
      report(fmt::format("Unknown fragment \"{}\".", spread.name), {spread.name_offset});
    } else {
      const Type* type = schema_.type(it->second->type_condition.name);
      if (type && parent && type->is_composite() && !schema_.types_overlap(*type, *parent)) {
        report(fmt::format("Fragment \"{}\" cannot be spread here as objects of type \"{}\" can never be of type \"{}\".", spread.name,
                           parent->name, type->name),
               {spread.offset});
      }
    }
    check_directives(spread.directives, "FRAGMENT_SPREAD");
  }

  // SingleFieldSubscriptions: exactly one root field, not an introspection one.
  void check_subscription(const OperationDefinition& op, const Type* root) {
    if (!root) return;
    std::vector<const Selection*> fields;
    std::set<std::string_view> visited;
    std::function<void(const Type*, const SelectionSet&)> collect = [&](const Type* type, const SelectionSet& set) {
      for (const Selection& s : set.selections) {
        if (!included(s.directives)) continue;
        if (s.kind == Selection::Kind::field) {
          fields.push_back(&s);
        } else if (s.kind == Selection::Kind::inline_fragment) {
          const Type* condition = s.type_condition ? schema_.type(s.type_condition->name) : type;
          if (!condition || condition == type || schema_.is_sub_type(*condition, *type)) collect(type, s.selection_set);
        } else if (visited.insert(s.name).second) {
          const auto it = fragments_.find(s.name);
          if (it == fragments_.end()) continue;
          const Type* condition = schema_.type(it->second->type_condition.name);
          if (!condition || condition == type || schema_.is_sub_type(*condition, *type)) collect(type, it->second->selection_set);
        }
      }
    };
    collect(root, op.selection_set);
    // Fields are grouped by response key: only distinct keys count.
    std::vector<std::string_view> keys;
    std::vector<std::vector<const Selection*>> grouped;
    for (const Selection* f : fields) {
      const auto it = std::find(keys.begin(), keys.end(), f->response_key());
      if (it == keys.end()) {
        keys.push_back(f->response_key());
        grouped.push_back({f});
      } else {
        grouped[static_cast<std::size_t>(it - keys.begin())].push_back(f);
      }
    }
    const std::string who = op.name.empty() ? "Anonymous Subscription" : fmt::format("Subscription \"{}\"", op.name);
    if (grouped.size() > 1) {
      std::vector<std::uint32_t> offsets;
      for (std::size_t i = 1; i < grouped.size(); ++i) {
        for (const Selection* f : grouped[i]) offsets.push_back(f->offset);
      }
      report_at(fmt::format("{} must select only one top level field.", who), offsets);
    }
    for (const auto& group : grouped) {
      if (group.front()->name.rfind("__", 0) == 0) {
        std::vector<std::uint32_t> offsets;
        for (const Selection* f : group) offsets.push_back(f->offset);
        report_at(fmt::format("{} must not select an introspection top level field.", who), offsets);
      }
    }
  }

  // @skip(if: true) / @include(if: false) written as literals (variables count as included,
  // as graphql-js's collectFields does with no variable values).
  static bool included(const std::vector<Directive>& directives) {
    for (const Directive& d : directives) {
      for (const Argument& a : d.arguments) {
        if (a.name != "if" || a.value.kind != Value::Kind::boolean) continue;
        if (d.name == "skip" && a.value.boolean) return false;
        if (d.name == "include" && !a.value.boolean) return false;
      }
    }
    return true;
  }

  // KnownDirectives, UniqueDirectivesPerLocation, and the directive's arguments.
  void check_directives(const std::vector<Directive>& directives, std::string_view location) {
    std::map<std::string_view, std::uint32_t> seen;
    for (const Directive& d : directives) {
      const DirectiveDefinition* def = schema_.directive(d.name);
      if (!def) {
        report(fmt::format("Unknown directive \"@{}\".", d.name), {d.offset});
      } else {
        if (!def->allowed_at(location)) report(fmt::format("Directive \"@{}\" may not be used on {}.", d.name, location), {d.offset});
        if (!def->repeatable) {
          const auto [it, inserted] = seen.emplace(d.name, d.offset);
          if (!inserted) report(fmt::format("The directive \"@{}\" can only be used once at this location.", d.name), {it->second, d.offset});
        }
      }
      check_arguments(d.arguments, def ? &def->arguments : nullptr, def ? fmt::format("directive \"@{}\"", d.name) : std::string());
      if (def) {
        for (const InputValue& a : def->arguments) {
          if (a.type.is_non_null() && !a.default_value && !a.default_literal &&
              std::none_of(d.arguments.begin(), d.arguments.end(), [&](const Argument& g) { return g.name == a.name; })) {
            report(fmt::format("Directive \"@{}\" argument \"{}\" of type \"{}\" is required, but it was not provided.", d.name, a.name,
                               a.type.to_string()),
                   {d.offset});
          }
        }
      }
    }
  }

  // KnownArgumentNames, UniqueArgumentNames, and each value (ValuesOfCorrectType...).
  void check_arguments(const std::vector<Argument>& arguments, const std::vector<InputValue>* defs, const std::string& owner) {
    std::map<std::string_view, std::vector<std::uint32_t>> names;
    for (const Argument& a : arguments) {
      names[a.name].push_back(a.offset);
      const InputValue* def = nullptr;
      if (defs) {
        for (const InputValue& d : *defs) {
          if (d.name == a.name) def = &d;
        }
        if (!def) {
          std::vector<std::string_view> known;
          for (const InputValue& d : *defs) known.emplace_back(d.name);
          report(fmt::format("Unknown argument \"{}\" on {}.{}", a.name, owner, did_you_mean(suggestion_list(a.name, known))), {a.offset});
        }
      }
      check_value(a.value, def ? std::optional<TypeExpr>(def->type) : std::nullopt, def && def->default_literal);
    }
    for (const auto& [name, offsets] : names) {
      if (offsets.size() > 1) report_at(fmt::format("There can be only one argument named \"{}\".", name), offsets);
    }
  }

  // ValuesOfCorrectType and UniqueInputFieldNames for one value at a position of type `type`
  // (unknown: nullopt), recording the variables it uses.
  void check_value(const Value& value, const std::optional<TypeExpr>& type, bool location_has_default) {
    switch (value.kind) {
      case Value::Kind::variable:
        if (facts_) facts_->usages.push_back({value.raw, value.offset, type, location_has_default});
        return;
      case Value::Kind::null:
        if (type && type->is_non_null()) {
          report(fmt::format("Expected value of type \"{}\", found null.", type->to_string()), {value.offset});
        }
        return;
      case Value::Kind::list: {
        const std::optional<TypeExpr> nullable = type ? std::optional<TypeExpr>(type->nullable()) : std::nullopt;
        if (!nullable || !nullable->is_list()) {
          check_leaf_value(value, nullable);
          return;
        }
        for (const Value& item : value.items) check_value(item, nullable->of(), false);
        return;
      }
      case Value::Kind::object: {
        const Type* named = type ? &type->named_type() : nullptr;
        if (!named || named->kind != TypeKind::input_object) {
          check_leaf_value(value, type);
          return;
        }
        check_input_object(value, *named);
        return;
      }
      default:
        check_leaf_value(value, type);
    }
  }

  void check_input_object(const Value& value, const Type& type) {
    std::map<std::string_view, std::uint32_t> seen;
    for (const ObjectField& f : value.fields) {
      const auto [it, inserted] = seen.emplace(f.name, f.offset);
      if (!inserted) report(fmt::format("There can be only one input field named \"{}\".", f.name), {it->second, f.offset});
    }
    for (const InputValue& field : type.input_fields) {
      const bool given = std::any_of(value.fields.begin(), value.fields.end(), [&](const ObjectField& f) { return f.name == field.name; });
      if (!given && field.type.is_non_null() && !field.default_literal) {
        report(fmt::format("Field \"{}.{}\" of required type \"{}\" was not provided.", type.name, field.name, field.type.to_string()),
               {value.offset});
      }
    }
    if (type.one_of) check_one_of(value, type);
    for (const ObjectField& f : value.fields) {
      const InputValue* def = type.input_field(f.name);
      if (!def) {
        std::vector<std::string_view> names;
        for (const InputValue& d : type.input_fields) names.emplace_back(d.name);
        report(fmt::format("Field \"{}\" is not defined by type \"{}\".{}", f.name, type.name, did_you_mean(suggestion_list(f.name, names))),
               {f.offset});
      }
      check_value(f.value, def ? std::optional<TypeExpr>(def->type) : std::nullopt, def && def->default_literal);
    }
  }

  void check_one_of(const Value& value, const Type& type) {
    std::vector<std::string_view> keys;
    for (const ObjectField& f : value.fields) {
      if (std::find(keys.begin(), keys.end(), f.name) == keys.end()) keys.push_back(f.name);
    }
    if (keys.size() != 1) {
      report(fmt::format("OneOf Input Object \"{}\" must specify exactly one key.", type.name), {value.offset});
      return;
    }
    const Value* given = nullptr;
    for (const ObjectField& f : value.fields) {
      if (f.name == keys[0]) given = &f.value;
    }
    if (given->kind == Value::Kind::null) {
      report(fmt::format("Field \"{}.{}\" must be non-null.", type.name, keys[0]), {value.offset});
      return;
    }
    if (given->kind == Value::Kind::variable && current_operation_variables_) {
      for (const VariableDefinition& v : *current_operation_variables_) {
        if (v.name == given->raw && v.type.kind != TypeRef::Kind::non_null) {
          report(fmt::format("Variable \"{}\" must be non-nullable to be used for OneOf Input Object \"{}\".", given->raw, type.name),
                 {value.offset});
        }
      }
    }
  }

  // graphql-js isValidValueNode: a literal where a leaf (or a wrong shape) is expected.
  void check_leaf_value(const Value& value, const std::optional<TypeExpr>& type) {
    if (!type) return;
    const Type& named = type->named_type();
    if (!named.is_leaf()) {
      report(fmt::format("Expected value of type \"{}\", found {}.", type->to_string(), print_value(value)), {value.offset});
      return;
    }
    if (auto problem = leaf_literal_error(named, value)) report(*problem, {value.offset});
  }

  // NoUnusedFragments and NoFragmentCycles.
  void check_fragment_usage() {
    std::set<std::string_view> used;
    std::function<void(std::string_view)> use = [&](std::string_view name) {
      if (!used.insert(name).second) return;
      const auto it = fragment_facts_.find(name);
      if (it == fragment_facts_.end()) return;
      for (std::string_view s : it->second.spreads) use(s);
    };
    for (const DefinitionFacts& facts : operation_facts_) {
      for (std::string_view s : facts.spreads) use(s);
    }
    for (const FragmentDefinition& f : document_.fragments) {
      if (!used.count(f.name)) report(fmt::format("Fragment \"{}\" is never used.", f.name), {f.offset});
    }
  }

  void check_fragment_cycles() {
    std::set<std::string_view> visited;
    std::vector<const Selection*> path;
    std::map<std::string_view, std::size_t> path_index;
    std::function<void(const FragmentDefinition&)> detect = [&](const FragmentDefinition& fragment) {
      if (!visited.insert(fragment.name).second) return;
      std::vector<const Selection*> spreads;
      collect_spreads(fragment.selection_set, spreads);
      if (spreads.empty()) return;
      path_index[fragment.name] = path.size();
      for (const Selection* spread : spreads) {
        const auto cycle = path_index.find(spread->name);
        path.push_back(spread);
        if (cycle == path_index.end()) {
          const auto it = fragments_.find(spread->name);
          if (it != fragments_.end()) detect(*it->second);
        } else {
          std::vector<std::uint32_t> offsets;
          std::string via;
          for (std::size_t i = cycle->second; i < path.size(); ++i) {
            offsets.push_back(path[i]->offset);
            if (i + 1 < path.size()) via += (via.empty() ? "" : ", ") + fmt::format("\"{}\"", path[i]->name);
          }
          report_at(fmt::format("Cannot spread fragment \"{}\" within itself{}.", spread->name, via.empty() ? "" : " via " + via), offsets);
        }
        path.pop_back();
      }
      path_index.erase(fragment.name);
    };
    // The definitions spreads resolve to (the last of a name): with duplicate names, a cycle
    // through a later definition would hide behind an earlier one of the same name (found by the
    // validator fuzzer; graphql-js 16.9 misses it too and overflows its stack in field merging).
    for (const FragmentDefinition& f : document_.fragments) {
      const auto resolved = fragments_.find(f.name);
      if (resolved != fragments_.end() && resolved->second == &f) detect(f);
    }
  }

  static void collect_spreads(const SelectionSet& set, std::vector<const Selection*>& out) {
    for (const Selection& s : set.selections) {
      if (s.kind == Selection::Kind::fragment_spread) {
        out.push_back(&s);
      } else if (s.has_selection_set) {
        collect_spreads(s.selection_set, out);
      }
    }
  }

  // NoUndefinedVariables, NoUnusedVariables, VariablesInAllowedPosition: over the operation
  // and every fragment it spreads, directly or not.
  void check_variables(const OperationDefinition& op, const DefinitionFacts& facts) {
    std::vector<const VariableUsage*> usages;
    for (const VariableUsage& u : facts.usages) usages.push_back(&u);
    std::set<std::string_view> seen_fragments;
    std::vector<std::string_view> pending(facts.spreads.begin(), facts.spreads.end());
    while (!pending.empty()) {
      const std::string_view name = pending.front();
      pending.erase(pending.begin());
      if (!seen_fragments.insert(name).second) continue;
      const auto it = fragment_facts_.find(name);
      if (it == fragment_facts_.end()) continue;
      for (const VariableUsage& u : it->second.usages) usages.push_back(&u);
      pending.insert(pending.end(), it->second.spreads.begin(), it->second.spreads.end());
    }
    std::map<std::string_view, const VariableDefinition*> defined;
    for (const VariableDefinition& v : op.variables) defined[v.name] = &v;  // the last of a name, as graphql-js
    std::set<std::string_view> used;
    for (const VariableUsage* u : usages) {
      used.insert(u->name);
      const auto it = defined.find(u->name);
      if (it == defined.end()) {
        report(op.name.empty() ? fmt::format("Variable \"${}\" is not defined.", u->name)
                               : fmt::format("Variable \"${}\" is not defined by operation \"{}\".", u->name, op.name),
               {u->offset, op.offset});
        continue;
      }
      check_variable_position(*it->second, *u);
    }
    for (const VariableDefinition& v : op.variables) {
      if (used.count(v.name)) continue;
      report(op.name.empty() ? fmt::format("Variable \"${}\" is never used.", v.name)
                             : fmt::format("Variable \"${}\" is never used in operation \"{}\".", v.name, op.name),
             {v.offset});
    }
  }

  void check_variable_position(const VariableDefinition& def, const VariableUsage& usage) {
    if (!usage.type) return;
    const std::optional<TypeExpr> variable_type = type_from_ref(def.type);
    if (!variable_type) return;
    const TypeExpr& location = *usage.type;
    bool allowed;
    if (location.is_non_null() && !variable_type->is_non_null()) {
      const bool variable_default = def.default_value && def.default_value->kind != Value::Kind::null;
      allowed = (variable_default || usage.location_has_default) && is_type_sub_type_of(schema_, *variable_type, location.of());
    } else {
      allowed = is_type_sub_type_of(schema_, *variable_type, location);
    }
    if (!allowed) {
      report(fmt::format("Variable \"${}\" of type \"{}\" used in position expecting type \"{}\".", usage.name, variable_type->to_string(),
                         location.to_string()),
             {def.offset, usage.offset});
    }
  }

  const Schema& schema_;
  const Document& document_;
  std::vector<Error> errors_;
  OverlapChecker overlap_;
  std::map<std::string_view, const FragmentDefinition*> fragments_;
  std::vector<DefinitionFacts> operation_facts_;
  std::map<std::string_view, DefinitionFacts> fragment_facts_;
  DefinitionFacts* facts_ = nullptr;
  bool check_overlaps_ = true;
  const std::vector<VariableDefinition>* current_operation_variables_ = nullptr;
};

}  // namespace

std::vector<Error> validate(const Schema& schema, const Document& document) { return Validator(schema, document).run(); }

}  // namespace portico::graphql
