#include "graphql/executor.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "graphql/introspection.hpp"
#include "graphql/text.hpp"
#include "graphql/values.hpp"

namespace portico::graphql {
namespace {

using boost::json::array;
using boost::json::object;
using Json = boost::json::value;

// A place in the response: a field of an object or an item of a list. Errors are ordered and
// nulls propagated through these.
struct Position {
  const Position* parent = nullptr;
  std::string_view key;   // a field's response key (empty for list items and the root)
  std::int64_t index = -1;  // a list item's index
  std::uint32_t order = 0;  // the field's rank in its object, or the item's index
  bool non_null = false;    // the value here may not be null
  Json* slot = nullptr;     // where the value is written
};

// An error raised while executing, before ordering and propagation.
struct RaisedError {
  Error error;
  const Position* at = nullptr;
  const Position* boundary = nullptr;  // the nullable position it nulls (the root: data)
  std::vector<std::uint32_t> order;    // depth-first rank of `at`
};

// An object whose fields are still to execute.
struct ObjectTask {
  const Type* type = nullptr;
  const Json* source = nullptr;
  std::vector<const SelectionSet*> selection_sets;
  const Position* position = nullptr;
};

// A field collected for one object: its response key and nodes, in document order.
struct CollectedField {
  std::string_view key;
  std::vector<const Selection*> nodes;
};

// A field waiting for its value.
struct PendingField {
  const Type* parent_type = nullptr;
  const Field* def = nullptr;
  std::vector<const Selection*> nodes;
  const Position* position = nullptr;
  FieldCall* call = nullptr;  // when a resolver gives the value
};

class Execution {
 public:
  Execution(const ExecutionRequest& request, const OperationDefinition& operation, object variables)
      : request_(request), schema_(*request.schema), document_(*request.document), operation_(operation),
        variables_(std::move(variables)) {
    for (const FragmentDefinition& f : document_.fragments) fragments_.emplace(f.name, &f);
  }

  boost::asio::awaitable<ExecutionResult> run(const Type& root_type) {
    root_.slot = &data_;
    static const Json kNull;
    const Json* root_source = request_.root_value ? request_.root_value : &kNull;
    ObjectTask root{&root_type, root_source, {&operation_.selection_set}, &root_};
    if (operation_.type == OperationType::mutation) {
      // Mutation fields run one after the other, each to the end of its subtree.
      std::optional<std::vector<CollectedField>> fields = collect_fields(root);
      if (!fields) co_return finish();
      object& out = prepare_object(root, *fields);
      for (std::size_t i = 0; i < fields->size(); ++i) {
        std::vector<PendingField> pending;
        start_field(root, (*fields)[i], static_cast<std::uint32_t>(i), out, pending);
        co_await finish_level(pending);
        co_await drain();
      }
    } else {
      level_.push_back(std::move(root));
      co_await drain();
    }
    co_return finish();
  }

 private:
  // Runs levels until no object is left to execute.
  boost::asio::awaitable<void> drain() {
    while (!level_.empty()) {
      std::vector<ObjectTask> tasks = std::move(level_);
      level_.clear();
      std::vector<PendingField> pending;
      for (const ObjectTask& task : tasks) {
        std::optional<std::vector<CollectedField>> fields = collect_fields(task);
        if (!fields) continue;
        object& out = prepare_object(task, *fields);
        for (std::size_t i = 0; i < fields->size(); ++i) start_field(task, (*fields)[i], static_cast<std::uint32_t>(i), out, pending);
      }
      co_await finish_level(pending);
    }
  }

  // Writes the object with all its keys (so the slots stay where they are) and returns it.
  object& prepare_object(const ObjectTask& task, const std::vector<CollectedField>& fields) {
    object& out = task.position->slot->emplace_object();
    out.reserve(fields.size());
    for (const CollectedField& f : fields) out.emplace(f.key, nullptr);
    return out;
  }

  const Position* new_position(const Position* parent, std::string_view key, std::int64_t index, std::uint32_t order,
                               bool non_null, Json* slot) {
    positions_.push_back({parent, key, index, order, non_null, slot});
    return &positions_.back();
  }

  // Starts one field of an object: its value now when it is known, or a call for the level
  // (which takes the field's nodes).
  void start_field(const ObjectTask& task, CollectedField& field, std::uint32_t order, object& out,
                   std::vector<PendingField>& pending) {
    const Selection& node = *field.nodes.front();
    Json* slot = &out.find(field.key)->value();
    if (node.name == "__typename") {
      *slot = task.type->name;
      return;
    }
    const Field* def = field_definition(*task.type, node.name);
    if (!def) return;  // validation refused unknown fields; nothing to do
    const Position* position = new_position(task.position, field.key, -1, order, def->type.is_non_null(), slot);
    std::string error;
    std::uint32_t error_at = 0;
    std::optional<object> arguments = coerce_arguments(*def, node, error, error_at);
    if (!arguments) {
      raise(position, std::move(error), std::vector<std::uint32_t>{error_at});
      return;
    }
    if (task.type == schema_.query_type() && (node.name == "__schema" || node.name == "__type")) {
      const Json value = node.name == "__schema" ? schema_descriptor() : type_descriptor(schema_, (*arguments)["name"].as_string());
      complete(def->type, keep(value), position, {task.type, def, field.nodes});
      return;
    }
    if (is_introspection_type(*task.type)) {
      const Json value = resolve_introspection(schema_, *task.type, node.name, *task.source, *arguments);
      complete(def->type, keep(value), position, {task.type, def, field.nodes});
      return;
    }
    if (request_.resolvers && request_.resolvers->resolves(*task.type, *def)) {
      FieldCall& call = calls_.emplace_back();
      call.parent_type = task.type;
      call.field = def;
      call.node = &node;
      call.parent = task.source;
      call.arguments = std::move(*arguments);
      pending.push_back({task.type, def, std::move(field.nodes), position, &call});
      return;
    }
    // The default resolver: the parent's property of the field's name.
    static const Json kMissing;
    const Json* value = &kMissing;
    if (task.source->is_object()) {
      if (const Json* v = task.source->as_object().if_contains(node.name)) value = v;
    }
    complete(def->type, value, position, {task.type, def, field.nodes});
  }

  boost::asio::awaitable<void> finish_level(std::vector<PendingField>& pending) {
    if (pending.empty()) co_return;
    std::vector<FieldCall*> calls;
    calls.reserve(pending.size());
    for (PendingField& p : pending) calls.push_back(p.call);
    co_await request_.resolvers->resolve(calls);
    for (PendingField& p : pending) {
      if (p.call->error) {
        raise(p.position, *p.call->error, p.nodes);
        continue;
      }
      complete(p.def->type, &p.call->value(), p.position, {p.parent_type, p.def, p.nodes});
    }
  }

  const Json* keep(Json value) {
    kept_.push_back(std::move(value));
    return &kept_.back();
  }

  const Field* field_definition(const Type& parent, std::string_view name) {
    if (const Field* meta = schema_.meta_field(parent, name)) return meta;
    return parent.field(name);
  }

  // --- collecting fields (the specification's CollectFields) ---
  // A problem with @skip / @include's `if`: it fails the object being collected.
  struct CollectError {
    std::string message;
    std::uint32_t offset = 0;
  };

  bool included(const std::vector<Directive>& directives, std::optional<CollectError>& error) const {
    for (const Directive& d : directives) {
      if (d.name != "skip" && d.name != "include") continue;
      for (const Argument& a : d.arguments) {
        if (a.name != "if") continue;
        bool condition = false;
        if (a.value.kind == Value::Kind::boolean) {
          condition = a.value.boolean;
        } else if (a.value.kind == Value::Kind::variable) {
          const Json* v = variables_.if_contains(a.value.raw);
          if (!v) {
            error = CollectError{fmt::format("Argument \"if\" of required type \"Boolean!\" was provided the variable \"${}\" which "
                                             "was not provided a runtime value.",
                                             a.value.raw),
                                 a.value.offset};
            return false;
          }
          if (!v->is_bool()) {
            error = CollectError{"Argument \"if\" of non-null type \"Boolean!\" must not be null.", a.value.offset};
            return false;
          }
          condition = v->get_bool();
        }
        if (d.name == "skip" && condition) return false;
        if (d.name == "include" && !condition) return false;
      }
    }
    return true;
  }

  bool fragment_applies(const Type& object_type, std::string_view condition) const {
    const Type* type = schema_.type(condition);
    if (!type) return false;
    if (type == &object_type) return true;
    return type->is_abstract() && schema_.is_sub_type(*type, object_type);
  }

  void collect(const Type& type, const SelectionSet& set, std::vector<CollectedField>& fields, std::set<std::string_view>& visited,
               std::optional<CollectError>& error) const {
    for (const Selection& s : set.selections) {
      if (!included(s.directives, error)) {
        if (error) return;
        continue;
      }
      switch (s.kind) {
        case Selection::Kind::field: {
          const std::string_view key = s.response_key();
          auto it = std::find_if(fields.begin(), fields.end(), [&](const CollectedField& f) { return f.key == key; });
          if (it == fields.end()) {
            fields.push_back({key, {&s}});
          } else {
            it->nodes.push_back(&s);
          }
          break;
        }
        case Selection::Kind::inline_fragment:
          if (s.type_condition && !fragment_applies(type, s.type_condition->name)) break;
          collect(type, s.selection_set, fields, visited, error);
          if (error) return;
          break;
        case Selection::Kind::fragment_spread: {
          if (!visited.insert(s.name).second) break;
          const auto it = fragments_.find(s.name);
          if (it == fragments_.end() || !fragment_applies(type, it->second->type_condition.name)) break;
          collect(type, it->second->selection_set, fields, visited, error);
          if (error) return;
          break;
        }
      }
    }
  }

  // The object's fields, or nullopt when an @include / @skip failed (raised at the object).
  std::optional<std::vector<CollectedField>> collect_fields(const ObjectTask& task) {
    std::vector<CollectedField> fields;
    std::set<std::string_view> visited;
    std::optional<CollectError> error;
    for (const SelectionSet* set : task.selection_sets) {
      collect(*task.type, *set, fields, visited, error);
      if (error) {
        raise(task.position, std::move(error->message), std::vector<std::uint32_t>{error->offset});
        return std::nullopt;
      }
    }
    return fields;
  }

  // graphql-js getArgumentValues.
  std::optional<object> coerce_arguments(const Field& def, const Selection& node, std::string& error, std::uint32_t& at) const {
    at = node.offset;
    object values;
    for (const InputValue& arg : def.arguments) {
      const Argument* given = nullptr;
      for (const Argument& a : node.arguments) {
        if (a.name == arg.name) given = &a;
      }
      if (!given) {
        if (arg.default_value) {
          values[arg.name] = *arg.default_value;
        } else if (arg.type.is_non_null()) {
          error = fmt::format("Argument \"{}\" of required type \"{}\" was not provided.", arg.name, arg.type.to_string());
          return std::nullopt;
        }
        continue;
      }
      at = given->value.offset;
      bool is_null = given->value.kind == Value::Kind::null;
      if (given->value.kind == Value::Kind::variable) {
        const Json* v = variables_.if_contains(given->value.raw);
        if (!v) {
          if (arg.default_value) {
            values[arg.name] = *arg.default_value;
          } else if (arg.type.is_non_null()) {
            error = fmt::format("Argument \"{}\" of required type \"{}\" was provided the variable \"${}\" which was not provided a runtime value.",
                                arg.name, arg.type.to_string(), given->value.raw);
            return std::nullopt;
          }
          continue;
        }
        is_null = v->is_null();
      }
      if (is_null && arg.type.is_non_null()) {
        error = fmt::format("Argument \"{}\" of non-null type \"{}\" must not be null.", arg.name, arg.type.to_string());
        return std::nullopt;
      }
      auto value = value_from_literal(given->value, arg.type, &variables_);
      if (!value) {
        error = fmt::format("Argument \"{}\" has invalid value {}.", arg.name, print_value(given->value));
        return std::nullopt;
      }
      values[arg.name] = std::move(*value);
    }
    return values;
  }

  // --- completing values ---
  struct FieldInfo {
    const Type* parent_type;
    const Field* def;
    const std::vector<const Selection*>& nodes;
  };

  void complete(const TypeExpr& type, const Json* value, const Position* position, const FieldInfo& info) {
    if (type.is_non_null()) {
      if (value->is_null()) {
        raise(position, fmt::format("Cannot return null for non-nullable field {}.{}.", info.parent_type->name, info.def->name),
              info.nodes);
        return;
      }
      complete(type.of(), value, position, info);
      return;
    }
    if (value->is_null()) {
      *position->slot = nullptr;
      return;
    }
    if (type.is_list()) {
      if (!value->is_array()) {
        raise(position,
              fmt::format("Expected Iterable, but did not find one for field \"{}.{}\".", info.parent_type->name, info.def->name),
              info.nodes);
        return;
      }
      const array& items = value->get_array();
      array& out = position->slot->emplace_array();
      out.resize(items.size());
      const TypeExpr& item_type = type.of();
      for (std::size_t i = 0; i < items.size(); ++i) {
        const Position* item = new_position(position, {}, static_cast<std::int64_t>(i), static_cast<std::uint32_t>(i),
                                            item_type.is_non_null(), &out[i]);
        complete(item_type, &items[i], item, info);
      }
      return;
    }
    const Type& named = type.named_type();
    if (named.is_leaf()) {
      std::string error;
      auto serialized = serialize_leaf(named, *value, error);
      if (!serialized) {
        raise(position, std::move(error), info.nodes);
        return;
      }
      *position->slot = std::move(*serialized);
      return;
    }
    const Type* runtime = &named;
    if (named.is_abstract()) {
      std::string error;
      runtime = resolve_type(named, *value, info, error);
      if (!runtime) {
        raise(position, std::move(error), info.nodes);
        return;
      }
    }
    ObjectTask task{runtime, value, {}, position};
    for (const Selection* node : info.nodes) {
      if (node->has_selection_set) task.selection_sets.push_back(&node->selection_set);
    }
    level_.push_back(std::move(task));
  }

  // The object type of an interface or union value, named by its `__typename` (or as the
  // resolvers say).
  const Type* resolve_type(const Type& abstract, const Json& value, const FieldInfo& info, std::string& error) const {
    std::optional<std::string_view> name =
        request_.resolvers ? request_.resolvers->runtime_type(abstract, value, error) : typename_property(value);
    if (!name) {
      if (!error.empty()) return nullptr;
      error = fmt::format(
          "Abstract type \"{0}\" must resolve to an Object type at runtime for field \"{1}.{2}\". Either the \"{0}\" type should "
          "provide a \"resolveType\" function or each possible type should provide an \"isTypeOf\" function.",
          abstract.name, info.parent_type->name, info.def->name);
      return nullptr;
    }
    const std::string_view type_name = *name;
    const Type* type = schema_.type(type_name);
    if (!type) {
      error = fmt::format("Abstract type \"{}\" was resolved to a type \"{}\" that does not exist inside the schema.", abstract.name,
                          type_name);
      return nullptr;
    }
    if (type->kind != TypeKind::object) {
      error = fmt::format("Abstract type \"{}\" was resolved to a non-object type \"{}\".", abstract.name, type_name);
      return nullptr;
    }
    if (!schema_.is_sub_type(abstract, *type)) {
      error = fmt::format("Runtime Object type \"{}\" is not a possible type for \"{}\".", type_name, abstract.name);
      return nullptr;
    }
    return type;
  }

  // --- errors ---
  static std::vector<PathSegment> path_of(const Position* position) {
    std::vector<PathSegment> path;
    for (const Position* p = position; p && p->parent; p = p->parent) {
      path.push_back(p->index >= 0 ? PathSegment{{}, p->index} : PathSegment{std::string(p->key), -1});
    }
    std::reverse(path.begin(), path.end());
    return path;
  }

  void raise(const Position* position, std::string message, const std::vector<const Selection*>& nodes) {
    std::vector<std::uint32_t> offsets;
    for (const Selection* n : nodes) offsets.push_back(n->offset);
    raise(position, std::move(message), offsets);
  }

  void raise(const Position* position, std::string message, const std::vector<std::uint32_t>& offsets) {
    RaisedError raised;
    raised.error.message = std::move(message);
    for (std::uint32_t offset : offsets) raised.error.locations.push_back(document_.location(offset));
    raised.error.path = path_of(position);
    raised.at = position;
    const Position* boundary = position;
    while (boundary->non_null && boundary->parent) boundary = boundary->parent;
    raised.boundary = boundary;
    for (const Position* p = position; p && p->parent; p = p->parent) raised.order.push_back(p->order);
    std::reverse(raised.order.begin(), raised.order.end());
    raised_.push_back(std::move(raised));
  }

  static bool inside(const std::vector<std::uint32_t>& order, const std::vector<std::uint32_t>& prefix) {
    return prefix.size() <= order.size() && std::equal(prefix.begin(), prefix.end(), order.begin());
  }

  static std::vector<std::uint32_t> order_of(const Position* position) {
    std::vector<std::uint32_t> order;
    for (const Position* p = position; p && p->parent; p = p->parent) order.push_back(p->order);
    std::reverse(order.begin(), order.end());
    return order;
  }

  // Orders the errors as a depth-first execution meets them, drops those inside a subtree an
  // earlier error nulled, and writes the nulls.
  ExecutionResult finish() {
    std::stable_sort(raised_.begin(), raised_.end(), [](const RaisedError& a, const RaisedError& b) { return a.order < b.order; });
    ExecutionResult result;
    std::vector<std::vector<std::uint32_t>> nulled;
    bool data_null = false;
    for (RaisedError& r : raised_) {
      if (data_null) break;
      const bool suppressed = std::any_of(nulled.begin(), nulled.end(), [&](const auto& n) { return inside(r.order, n); });
      if (suppressed) continue;
      result.errors.push_back(std::move(r.error));
      if (!r.boundary->parent) {
        data_null = true;
        break;
      }
      *r.boundary->slot = nullptr;
      nulled.push_back(order_of(r.boundary));
    }
    result.data = data_null ? Json(nullptr) : std::move(data_);
    return result;
  }

  const ExecutionRequest& request_;
  const Schema& schema_;
  const Document& document_;
  const OperationDefinition& operation_;
  const object variables_;
  std::map<std::string_view, const FragmentDefinition*> fragments_;
  Json data_;
  Position root_;
  std::deque<Position> positions_;
  std::deque<FieldCall> calls_;
  std::deque<Json> kept_;
  std::vector<ObjectTask> level_;
  std::vector<RaisedError> raised_;
};

}  // namespace

boost::json::object ExecutionResult::to_json() const {
  object out;
  if (!errors.empty()) {
    array list;
    for (const Error& e : errors) list.push_back(graphql::to_json(e));
    out["errors"] = std::move(list);
  }
  if (data) out["data"] = *data;
  return out;
}

std::string ExecutionResult::to_json_text() const {
  std::string out;
  out.reserve(512);
  out += '{';
  if (!errors.empty()) {
    out += "\"errors\":[";
    for (std::size_t i = 0; i < errors.size(); ++i) {
      if (i) out += ',';
      write_json(graphql::to_json(errors[i]), out);
    }
    out += ']';
  }
  if (data) {
    if (!errors.empty()) out += ',';
    out += "\"data\":";
    write_json(*data, out);
  }
  out += '}';
  return out;
}

const OperationDefinition* select_operation(const Document& document, std::optional<std::string_view> name,
                                            std::vector<Error>& errors) {
  if (!name) {
    if (document.operations.empty()) {
      errors.push_back({"Must provide an operation.", {}, {}});
      return nullptr;
    }
    if (document.operations.size() > 1) {
      errors.push_back({"Must provide operation name if query contains multiple operations.", {}, {}});
      return nullptr;
    }
    return &document.operations.front();
  }
  for (const OperationDefinition& op : document.operations) {
    if (op.name == *name) return &op;
  }
  errors.push_back({fmt::format("Unknown operation named \"{}\".", *name), {}, {}});
  return nullptr;
}

boost::json::object coerce_variables(const Schema& schema, const Document& document, const OperationDefinition& operation,
                                     const boost::json::object& given, std::vector<Error>& errors) {
  object values;
  const std::function<std::optional<TypeExpr>(const TypeRef&)> type_of = [&](const TypeRef& ref) -> std::optional<TypeExpr> {
    if (ref.kind == TypeRef::Kind::named) {
      const Type* t = schema.type(ref.name);
      return t ? std::optional<TypeExpr>(TypeExpr::named(t)) : std::nullopt;
    }
    auto inner = type_of(*ref.of);
    if (!inner) return std::nullopt;
    return ref.kind == TypeRef::Kind::list ? TypeExpr::list_of(*inner) : TypeExpr::non_null_of(*inner);
  };
  // graphql-js stops after 50 problems (a hostile variable could make millions).
  constexpr std::size_t kMaxVariableErrors = 50;
  for (const VariableDefinition& def : operation.variables) {
    if (errors.size() > kMaxVariableErrors) break;
    const std::optional<TypeExpr> type = type_of(def.type);
    if (!type || !type->named_type().is_input()) {
      errors.push_back(document_error(
          document, fmt::format("Variable \"${}\" expected value of type \"{}\" which cannot be used as an input type.", def.name,
                                print_type(def.type)),
          {def.type.offset}));
      continue;
    }
    const Json* value = given.if_contains(def.name);
    if (!value) {
      if (def.default_value) {
        if (auto v = value_from_literal(*def.default_value, *type, nullptr)) values[def.name] = std::move(*v);
      } else if (type->is_non_null()) {
        errors.push_back(document_error(
            document, fmt::format("Variable \"${}\" of required type \"{}\" was not provided.", def.name, type->to_string()),
            {def.offset}));
      }
      continue;
    }
    if (value->is_null() && type->is_non_null()) {
      errors.push_back(document_error(
          document, fmt::format("Variable \"${}\" of non-null type \"{}\" must not be null.", def.name, type->to_string()),
          {def.offset}));
      continue;
    }
    std::vector<InputProblem> problems;
    Json coerced = coerce_input(*value, *type, problems);
    for (const InputProblem& p : problems) {
      if (errors.size() >= kMaxVariableErrors) {
        errors.push_back({"Too many errors processing variables, error limit reached. Execution aborted.", {}, {}});
        return values;
      }
      std::string message = fmt::format("Variable \"${}\" got invalid value {}", def.name, inspect(p.value));
      if (!p.path.empty()) {
        std::string path;
        for (const PathSegment& s : p.path) path += s.is_index() ? fmt::format("[{}]", s.index) : "." + s.key;
        message += fmt::format(" at \"{}{}\"", def.name, path);
      }
      errors.push_back(document_error(document, message + "; " + p.message, {def.offset}));
    }
    if (problems.empty()) values[def.name] = std::move(coerced);
  }
  return values;
}

std::optional<std::string_view> typename_property(const boost::json::value& value) {
  const boost::json::value* name = value.is_object() ? value.get_object().if_contains("__typename") : nullptr;
  if (!name || !name->is_string()) return std::nullopt;
  return std::string_view(name->get_string());
}

std::optional<std::string_view> Resolvers::runtime_type(const Type&, const boost::json::value& value, std::string&) const {
  return typename_property(value);
}

boost::asio::awaitable<ExecutionResult> execute(const ExecutionRequest& request) {
  ExecutionResult result;
  const OperationDefinition* operation = select_operation(*request.document, request.operation_name, result.errors);
  if (!operation) co_return result;
  const Type* root = request.schema->root_type(operation->type);
  if (!root) {
    std::string message = operation->type == OperationType::query
                              ? "Schema does not define the required query root type."
                              : fmt::format("Schema is not configured to execute {} operation.", operation_type_name(operation->type));
    result.errors.push_back(document_error(*request.document, std::move(message), {operation->offset}));
    result.data = nullptr;
    co_return result;
  }
  static const object kNoVariables;
  object variables = request.coerced_variables ? *request.coerced_variables
                                               : coerce_variables(*request.schema, *request.document, *operation,
                                                                  request.variables ? *request.variables : kNoVariables,
                                                                  result.errors);
  if (!result.errors.empty()) co_return result;
  Execution execution(request, *operation, std::move(variables));
  co_return co_await execution.run(*root);
}

}  // namespace portico::graphql
