#include "plugins/graphql/limits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace portico::plugins::graphql {
namespace {

namespace gql = portico::graphql;

class Measurer {
 public:
  Measurer(const gql::Schema& schema, const gql::Document& document, const boost::json::object& variables,
           const DocumentLimits& limits)
      : schema_(schema), variables_(variables), limits_(limits) {
    for (const gql::FragmentDefinition& f : document.fragments) fragments_.emplace(f.name, &f);
  }

  DocumentMeasure run(const gql::OperationDefinition& operation) {
    const gql::Type* root = schema_.root_type(operation.type);
    walk(root, operation.selection_set, 1, 1.0);
    return measure_;
  }

 private:
  // `depth`: of the fields in `set`; `multiplier`: how many times the set is asked for.
  void walk(const gql::Type* parent, const gql::SelectionSet& set, int depth, double multiplier) {
    for (const gql::Selection& s : set.selections) {
      switch (s.kind) {
        case gql::Selection::Kind::field: field(parent, s, depth, multiplier); break;
        case gql::Selection::Kind::inline_fragment:
          walk(s.type_condition ? schema_.type(s.type_condition->name) : parent, s.selection_set, depth, multiplier);
          break;
        case gql::Selection::Kind::fragment_spread: {
          const auto it = fragments_.find(s.name);
          if (it == fragments_.end() || !spreading_.insert(s.name).second) break;  // valid documents have no cycle
          walk(schema_.type(it->second->type_condition.name), it->second->selection_set, depth, multiplier);
          spreading_.erase(s.name);
          break;
        }
      }
    }
  }

  void field(const gql::Type* parent, const gql::Selection& s, int depth, double multiplier) {
    if (!s.alias.empty()) ++measure_.aliases;
    if (s.name == "__schema" || s.name == "__type") measure_.introspects = true;
    if (s.name.rfind("__", 0) != 0) measure_.depth = std::max(measure_.depth, depth);
    const gql::Field* def = parent ? parent->field(s.name) : nullptr;
    if (!def) return;  // __typename, introspection: their cost is bounded by the schema
    const gql::Type& type = def->type.named_type();
    std::optional<int> cost = limits_.field_cost ? limits_.field_cost(*def) : std::nullopt;
    measure_.cost += multiplier * cost.value_or(type.is_leaf() ? 0 : 1);
    if (!s.has_selection_set) return;
    walk(&type, s.selection_set, depth + 1, multiplier * list_length(*def, s));
  }

  // How many items a field's lists are taken to hold: its first / last / limit argument when
  // it has one, else list_size per level of list.
  double list_length(const gql::Field& def, const gql::Selection& s) const {
    int levels = 0;
    for (const gql::TypeExpr* t = &def.type; !t->is_named(); t = &t->of()) {
      if (t->is_list()) ++levels;
    }
    if (levels == 0) return 1;
    for (const gql::Argument& a : s.arguments) {
      if (a.name != "first" && a.name != "last" && a.name != "limit") continue;
      if (a.value.kind == gql::Value::Kind::int_number) return std::max(1.0, std::strtod(std::string(a.value.raw).c_str(), nullptr));
      if (a.value.kind == gql::Value::Kind::variable) {
        const auto* v = variables_.if_contains(a.value.raw);
        if (v && v->is_int64()) return std::max<double>(1, static_cast<double>(v->get_int64()));
        if (v && v->is_double()) return std::max(1.0, v->get_double());
      }
    }
    return std::pow(static_cast<double>(limits_.list_size), levels);
  }

  const gql::Schema& schema_;
  const boost::json::object& variables_;
  const DocumentLimits& limits_;
  std::map<std::string_view, const gql::FragmentDefinition*> fragments_;
  std::set<std::string_view> spreading_;
  DocumentMeasure measure_;
};

}  // namespace

DocumentMeasure measure(const gql::Schema& schema, const gql::Document& document, const gql::OperationDefinition& operation,
                        const boost::json::object& variables, const DocumentLimits& limits) {
  return Measurer(schema, document, variables, limits).run(operation);
}

std::optional<std::string> refusal(const DocumentMeasure& measured, const DocumentLimits& limits) {
  if (!limits.introspection && measured.introspects) {
    return "GraphQL introspection is not allowed here (the plugin's introspection setting is false), but the query contains "
           "__schema or __type.";
  }
  if (limits.max_depth > 0 && measured.depth > limits.max_depth) {
    return fmt::format("The query is {} levels deep, more than the maximum of {}.", measured.depth, limits.max_depth);
  }
  if (limits.max_aliases > 0 && measured.aliases > limits.max_aliases) {
    return fmt::format("The query uses {} aliases, more than the maximum of {}.", measured.aliases, limits.max_aliases);
  }
  if (limits.max_cost > 0 && measured.cost > limits.max_cost) {
    return fmt::format("The query's cost is {}, more than the maximum of {}.", static_cast<long long>(std::ceil(measured.cost)),
                       limits.max_cost);
  }
  return std::nullopt;
}

}  // namespace portico::plugins::graphql
