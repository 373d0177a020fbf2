#include "graphql/introspection.hpp"

#include <boost/json.hpp>

#include "graphql/values.hpp"

namespace portico::graphql {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

value describe(const TypeExpr& type) {
  switch (type.kind()) {
    case TypeExpr::Kind::named: return object{{"$", "type"}, {"name", type.named_type().name}};
    case TypeExpr::Kind::list: return object{{"$", "type"}, {"kind", "LIST"}, {"of", describe(type.of())}};
    case TypeExpr::Kind::non_null: return object{{"$", "type"}, {"kind", "NON_NULL"}, {"of", describe(type.of())}};
  }
  return nullptr;
}

value optional_text(const std::optional<std::string>& text) { return text ? value(*text) : value(nullptr); }

std::string_view kind_name(TypeKind kind) {
  switch (kind) {
    case TypeKind::scalar: return "SCALAR";
    case TypeKind::object: return "OBJECT";
    case TypeKind::interface: return "INTERFACE";
    case TypeKind::union_type: return "UNION";
    case TypeKind::enum_type: return "ENUM";
    case TypeKind::input_object: return "INPUT_OBJECT";
  }
  return "SCALAR";
}

bool include_deprecated(const object& arguments) {
  const auto* v = arguments.if_contains("includeDeprecated");
  return v && v->is_bool() && v->get_bool();
}

std::string_view text_of(const value& source, std::string_view key) {
  const auto* v = source.as_object().if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// The input value a descriptor names: an argument of a field or directive, or an input field.
const InputValue* input_value_of(const Schema& schema, const value& source) {
  const std::string_view name = text_of(source, "name");
  if (const std::string_view directive = text_of(source, "directive"); !directive.empty()) {
    const DirectiveDefinition* d = schema.directive(directive);
    return d ? d->argument(name) : nullptr;
  }
  const Type* owner = schema.type(text_of(source, "owner"));
  if (!owner) return nullptr;
  if (const std::string_view field = text_of(source, "field"); !field.empty()) {
    const Field* f = owner->field(field);
    return f ? f->argument(name) : nullptr;
  }
  return owner->input_field(name);
}

value input_values(const std::vector<InputValue>& values, const object& base, bool with_deprecated) {
  array out;
  for (const InputValue& v : values) {
    if (v.deprecation_reason && !with_deprecated) continue;
    object d = base;
    d["$"] = "input";
    d["name"] = v.name;
    out.push_back(std::move(d));
  }
  return out;
}

value type_field(const Schema& schema, const value& source, std::string_view field, const object& arguments) {
  const std::string_view kind = text_of(source, "kind");
  if (!kind.empty()) {  // a list or non-null wrapper
    if (field == "kind") return value(kind);
    if (field == "ofType") return source.as_object().at("of");
    return nullptr;
  }
  const Type* type = schema.type(text_of(source, "name"));
  if (!type) return nullptr;
  if (field == "kind") return value(kind_name(type->kind));
  if (field == "name") return value(type->name);
  if (field == "description") return optional_text(type->description);
  if (field == "specifiedByURL") return type->kind == TypeKind::scalar ? optional_text(type->specified_by_url) : value(nullptr);
  if (field == "fields") {
    if (type->kind != TypeKind::object && type->kind != TypeKind::interface) return nullptr;
    array out;
    for (const Field& f : type->fields) {
      if (f.deprecation_reason && !include_deprecated(arguments)) continue;
      out.push_back(object{{"$", "field"}, {"type", type->name}, {"name", f.name}});
    }
    return out;
  }
  if (field == "interfaces") {
    if (type->kind != TypeKind::object && type->kind != TypeKind::interface) return nullptr;
    array out;
    for (const Type* i : type->interfaces) out.push_back(describe(TypeExpr::named(i)));
    return out;
  }
  if (field == "possibleTypes") {
    if (!type->is_abstract()) return nullptr;
    array out;
    for (const Type* t : schema.possible_types(*type)) out.push_back(describe(TypeExpr::named(t)));
    return out;
  }
  if (field == "enumValues") {
    if (type->kind != TypeKind::enum_type) return nullptr;
    array out;
    for (const EnumValue& v : type->values) {
      if (v.deprecation_reason && !include_deprecated(arguments)) continue;
      out.push_back(object{{"$", "enum"}, {"type", type->name}, {"name", v.name}});
    }
    return out;
  }
  if (field == "inputFields") {
    if (type->kind != TypeKind::input_object) return nullptr;
    return input_values(type->input_fields, object{{"owner", type->name}}, include_deprecated(arguments));
  }
  if (field == "ofType") return nullptr;
  if (field == "isOneOf") return type->kind == TypeKind::input_object ? value(type->one_of) : value(nullptr);
  return nullptr;
}

value deprecation_field(const std::optional<std::string>& reason, std::string_view field) {
  if (field == "isDeprecated") return value(reason.has_value());
  return optional_text(reason);
}

}  // namespace

bool is_introspection_type(const Type& type) { return type.built_in && type.name.rfind("__", 0) == 0; }

value schema_descriptor() { return object{{"$", "schema"}}; }

value type_descriptor(const Schema& schema, std::string_view name) {
  const Type* type = schema.type(name);
  return type ? describe(TypeExpr::named(type)) : value(nullptr);
}

value resolve_introspection(const Schema& schema, const Type& parent, std::string_view field, const value& source,
                            const object& arguments) {
  if (!source.is_object()) return nullptr;
  const std::string& owner = parent.name;
  if (owner == "__Schema") {
    if (field == "description") return optional_text(schema.description());
    if (field == "types") {
      array out;
      for (const Type* t : schema.types()) out.push_back(describe(TypeExpr::named(t)));
      return out;
    }
    const auto root = [&](const Type* t) { return t ? describe(TypeExpr::named(t)) : value(nullptr); };
    if (field == "queryType") return root(schema.query_type());
    if (field == "mutationType") return root(schema.mutation_type());
    if (field == "subscriptionType") return root(schema.subscription_type());
    if (field == "directives") {
      array out;
      for (const DirectiveDefinition* d : schema.directives()) out.push_back(object{{"$", "directive"}, {"name", d->name}});
      return out;
    }
    return nullptr;
  }
  if (owner == "__Type") return type_field(schema, source, field, arguments);
  if (owner == "__Field") {
    const Type* type = schema.type(text_of(source, "type"));
    const Field* f = type ? type->field(text_of(source, "name")) : nullptr;
    if (!f) return nullptr;
    if (field == "name") return value(f->name);
    if (field == "description") return optional_text(f->description);
    if (field == "args") {
      return input_values(f->arguments, object{{"owner", type->name}, {"field", f->name}}, include_deprecated(arguments));
    }
    if (field == "type") return describe(f->type);
    return deprecation_field(f->deprecation_reason, field);
  }
  if (owner == "__InputValue") {
    const InputValue* v = input_value_of(schema, source);
    if (!v) return nullptr;
    if (field == "name") return value(v->name);
    if (field == "description") return optional_text(v->description);
    if (field == "type") return describe(v->type);
    if (field == "defaultValue") {
      if (!v->default_value) return nullptr;
      auto text = print_input_value(*v->default_value, v->type);
      return text ? value(*text) : value(nullptr);
    }
    return deprecation_field(v->deprecation_reason, field);
  }
  if (owner == "__EnumValue") {
    const Type* type = schema.type(text_of(source, "type"));
    const EnumValue* v = type ? type->enum_value(text_of(source, "name")) : nullptr;
    if (!v) return nullptr;
    if (field == "name") return value(v->name);
    if (field == "description") return optional_text(v->description);
    return deprecation_field(v->deprecation_reason, field);
  }
  if (owner == "__Directive") {
    const DirectiveDefinition* d = schema.directive(text_of(source, "name"));
    if (!d) return nullptr;
    if (field == "name") return value(d->name);
    if (field == "description") return optional_text(d->description);
    if (field == "isRepeatable") return value(d->repeatable);
    if (field == "locations") {
      array out;
      for (const std::string& l : d->locations) out.emplace_back(l);
      return out;
    }
    if (field == "args") return input_values(d->arguments, object{{"directive", d->name}}, include_deprecated(arguments));
    return nullptr;
  }
  return nullptr;
}

}  // namespace portico::graphql
