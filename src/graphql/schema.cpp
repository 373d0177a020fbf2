#include "graphql/schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "graphql/parser.hpp"
#include "graphql/prelude.hpp"
#include "graphql/schema_rules.hpp"
#include "graphql/values.hpp"

namespace portico::graphql {

// --- TypeExpr ---

TypeExpr TypeExpr::named(const Type* type) {
  TypeExpr t;
  t.kind_ = Kind::named;
  t.type_ = type;
  return t;
}

TypeExpr TypeExpr::list_of(TypeExpr item) {
  TypeExpr t;
  t.kind_ = Kind::list;
  t.of_ = std::make_shared<const TypeExpr>(std::move(item));
  return t;
}

TypeExpr TypeExpr::non_null_of(TypeExpr type) {
  TypeExpr t;
  t.kind_ = Kind::non_null;
  t.of_ = std::make_shared<const TypeExpr>(std::move(type));
  return t;
}

const Type& TypeExpr::named_type() const { return kind_ == Kind::named ? *type_ : of_->named_type(); }

std::string TypeExpr::to_string() const {
  switch (kind_) {
    case Kind::named: return type_ ? type_->name : "?";
    case Kind::list: return "[" + of_->to_string() + "]";
    case Kind::non_null: return of_->to_string() + "!";
  }
  return {};
}

bool TypeExpr::operator==(const TypeExpr& other) const {
  if (kind_ != other.kind_) return false;
  if (kind_ == Kind::named) return type_ == other.type_;
  return *of_ == *other.of_;
}

// --- lookups ---

const InputValue* Field::argument(std::string_view name) const {
  for (const InputValue& a : arguments) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const Field* Type::field(std::string_view name) const {
  for (const Field& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const EnumValue* Type::enum_value(std::string_view name) const {
  for (const EnumValue& v : values) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const InputValue* Type::input_field(std::string_view name) const {
  for (const InputValue& f : input_fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const InputValue* DirectiveDefinition::argument(std::string_view name) const {
  for (const InputValue& a : arguments) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool DirectiveDefinition::allowed_at(std::string_view location) const {
  return std::find(locations.begin(), locations.end(), location) != locations.end();
}

const Type* Schema::type(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const DirectiveDefinition* Schema::directive(std::string_view name) const {
  for (const DirectiveDefinition* d : directives_) {
    if (d->name == name) return d;
  }
  return nullptr;
}

const Field* Schema::meta_field(const Type& parent, std::string_view name) const {
  if (name == "__typename") return parent.is_composite() ? &typename_field_ : nullptr;
  if (&parent != query_) return nullptr;
  if (name == "__schema") return &schema_field_;
  if (name == "__type") return &type_field_;
  return nullptr;
}

const Type* Schema::root_type(OperationType operation) const {
  switch (operation) {
    case OperationType::query: return query_;
    case OperationType::mutation: return mutation_;
    case OperationType::subscription: return subscription_;
  }
  return nullptr;
}

bool Schema::is_sub_type(const Type& abstract, const Type& maybe_sub) const {
  if (abstract.kind == TypeKind::union_type) {
    return std::find(abstract.possible_types.begin(), abstract.possible_types.end(), &maybe_sub) != abstract.possible_types.end();
  }
  if (abstract.kind != TypeKind::interface) return false;
  if (maybe_sub.kind == TypeKind::object || maybe_sub.kind == TypeKind::interface) {
    return std::find(maybe_sub.interfaces.begin(), maybe_sub.interfaces.end(), &abstract) != maybe_sub.interfaces.end();
  }
  return false;
}

std::vector<const Type*> Schema::possible_types(const Type& type) const {
  if (type.kind == TypeKind::object) return {&type};
  return type.possible_types;
}

bool Schema::types_overlap(const Type& a, const Type& b) const {
  if (&a == &b) return true;
  if (a.is_abstract()) {
    if (b.is_abstract()) {
      for (const Type* t : possible_types(a)) {
        if (is_sub_type(b, *t)) return true;
      }
      return false;
    }
    return is_sub_type(a, b);
  }
  if (b.is_abstract()) return is_sub_type(b, a);
  return false;
}

bool is_type_sub_type_of(const Schema& schema, const TypeExpr& sub, const TypeExpr& super) {
  if (sub == super) return true;
  if (super.is_non_null()) {
    return sub.is_non_null() && is_type_sub_type_of(schema, sub.of(), super.of());
  }
  if (sub.is_non_null()) return is_type_sub_type_of(schema, sub.of(), super);
  if (super.is_list()) return sub.is_list() && is_type_sub_type_of(schema, sub.of(), super.of());
  if (sub.is_list()) return false;
  const Type& named_super = super.named_type();
  const Type& named_sub = sub.named_type();
  return named_super.is_abstract() && (named_sub.kind == TypeKind::interface || named_sub.kind == TypeKind::object) &&
         schema.is_sub_type(named_super, named_sub);
}

// --- building ---

class SchemaBuilder {
 public:
  SchemaBuilder(Schema& schema, std::vector<Error>& errors) : schema_(schema), errors_(errors) {}

  bool build(const std::string& sdl) {
    try {
      schema_.sdl_ = std::make_shared<const Document>(parse(sdl));
    } catch (const SyntaxError& e) {
      Document text;
      text.source = std::make_shared<const std::string>(std::move(sdl));
      errors_.push_back(document_error(text, "Syntax Error: " + std::string(e.what()), {e.offset()}));
      return false;
    }
    static const std::shared_ptr<const Document> prelude =
        std::make_shared<const Document>(parse(std::string(prelude_sdl())));
    prelude_ = prelude;
    // Operations and fragments in the SDL are ignored, as graphql-js's buildSchema does.
    const Document& doc = *schema_.sdl_;
    validate_sdl(doc, *prelude_, errors_);
    if (!errors_.empty()) return false;

    create_types(*prelude_, true);
    create_types(doc, false);
    for (const TypeSystemDefinition& def : prelude_->type_definitions) fill(def, *prelude_);
    for (const TypeSystemDefinition& def : doc.type_definitions) fill(def, doc);
    if (!errors_.empty()) return false;
    compute_defaults();
    choose_roots(doc);
    collect_directives(doc);
    collect_types(doc);
    index_possible_types();
    build_meta_fields();
    validate_schema(schema_, errors_);
    return errors_.empty();
  }

 private:
  Type* find(std::string_view name) {
    const auto it = all_.find(name);
    return it == all_.end() ? nullptr : it->second;
  }

  void create_types(const Document& doc, bool built_in) {
    for (const TypeSystemDefinition& def : doc.type_definitions) {
      if (def.extension || def.kind == TypeSystemDefinition::Kind::schema || def.kind == TypeSystemDefinition::Kind::directive) {
        continue;
      }
      // A schema's own `scalar String` is the built-in one, as in graphql-js.
      if (!built_in && find(def.name) && find(def.name)->built_in) continue;
      auto type = std::make_unique<Type>();
      type->name = std::string(def.name);
      type->built_in = built_in;
      type->offset = def.offset;
      type->description = def.description;
      switch (def.kind) {
        case TypeSystemDefinition::Kind::scalar: type->kind = TypeKind::scalar; break;
        case TypeSystemDefinition::Kind::object: type->kind = TypeKind::object; break;
        case TypeSystemDefinition::Kind::interface: type->kind = TypeKind::interface; break;
        case TypeSystemDefinition::Kind::union_type: type->kind = TypeKind::union_type; break;
        case TypeSystemDefinition::Kind::enum_type: type->kind = TypeKind::enum_type; break;
        case TypeSystemDefinition::Kind::input_object: type->kind = TypeKind::input_object; break;
        default: break;
      }
      all_.emplace(type->name, type.get());
      schema_.owned_types_.push_back(std::move(type));
    }
  }

  TypeExpr resolve(const TypeRef& ref) {
    switch (ref.kind) {
      case TypeRef::Kind::named: return TypeExpr::named(find(ref.name));
      case TypeRef::Kind::list: return TypeExpr::list_of(resolve(*ref.of));
      case TypeRef::Kind::non_null: return TypeExpr::non_null_of(resolve(*ref.of));
    }
    return {};
  }

  static const Directive* directive_named(const std::vector<Directive>& directives, std::string_view name) {
    for (const Directive& d : directives) {
      if (d.name == name) return &d;
    }
    return nullptr;
  }

  static std::optional<std::string> deprecation(const std::vector<Directive>& directives) {
    const Directive* d = directive_named(directives, "deprecated");
    if (!d) return std::nullopt;
    for (const Argument& a : d->arguments) {
      if (a.name != "reason") continue;
      if (a.value.kind == Value::Kind::null) return std::nullopt;  // graphql-js: not deprecated
      if (a.value.kind == Value::Kind::string) return a.value.string;
    }
    return std::string("No longer supported");
  }

  InputValue input_value(const InputValueDefinition& def) {
    InputValue value;
    value.name = std::string(def.name);
    value.description = def.description;
    value.type = resolve(def.type);
    value.default_literal = def.default_value ? &*def.default_value : nullptr;
    value.deprecation_reason = deprecation(def.directives);
    value.offset = def.offset;
    return value;
  }

  void fill(const TypeSystemDefinition& def, const Document& doc) {
    using Kind = TypeSystemDefinition::Kind;
    if (def.kind == Kind::schema || def.kind == Kind::directive) return;
    Type* type = find(def.name);
    if (!type) {
      errors_.push_back(document_error(doc, fmt::format("Cannot extend type \"{}\" because it is not defined.", def.name),
                                       {def.name_offset}));
      return;
    }
    if (type->built_in && &doc != prelude_.get()) return;
    if (const Directive* d = directive_named(def.directives, "specifiedBy")) {
      for (const Argument& a : d->arguments) {
        if (a.name == "url") type->specified_by_url = a.value.string;
      }
    }
    if (directive_named(def.directives, "oneOf")) type->one_of = true;
    for (const NamedType& i : def.interfaces) type->interfaces.push_back(find(i.name));
    for (const FieldDefinition& f : def.fields) {
      Field field;
      field.name = std::string(f.name);
      field.description = f.description;
      field.type = resolve(f.type);
      field.deprecation_reason = deprecation(f.directives);
      field.offset = f.offset;
      for (const InputValueDefinition& a : f.arguments) field.arguments.push_back(input_value(a));
      type->fields.push_back(std::move(field));
    }
    for (const NamedType& m : def.members) type->possible_types.push_back(find(m.name));
    for (const EnumValueDefinition& v : def.values) {
      type->values.push_back({std::string(v.name), v.description, deprecation(v.directives)});
    }
    for (const InputValueDefinition& f : def.input_fields) type->input_fields.push_back(input_value(f));
  }

  void default_of(InputValue& value) {
    if (value.default_literal && value.type.valid()) value.default_value = value_from_literal(*value.default_literal, value.type, nullptr);
  }

  void compute_defaults() {
    // Twice over the input objects: a default may hold an input object whose own fields'
    // defaults must be known first.
    for (int pass = 0; pass < 2; ++pass) {
      for (auto& type : schema_.owned_types_) {
        for (InputValue& f : type->input_fields) default_of(f);
      }
    }
    for (auto& type : schema_.owned_types_) {
      for (Field& f : type->fields) {
        for (InputValue& a : f.arguments) default_of(a);
      }
    }
  }

  void choose_roots(const Document& doc) {
    bool has_schema_definition = false;
    for (const TypeSystemDefinition& def : doc.type_definitions) {
      if (def.kind != TypeSystemDefinition::Kind::schema) continue;
      if (!def.extension) {
        has_schema_definition = true;
        schema_.description_ = def.description;
      }
      for (const RootOperationType& root : def.operation_types) {
        const Type* type = find(root.type.name);
        switch (root.operation) {
          case OperationType::query: schema_.query_ = type; break;
          case OperationType::mutation: schema_.mutation_ = type; break;
          case OperationType::subscription: schema_.subscription_ = type; break;
        }
      }
    }
    if (has_schema_definition) return;
    const auto user_type = [&](std::string_view name) -> const Type* {
      const Type* t = find(name);
      return t && !t->built_in ? t : nullptr;
    };
    schema_.query_ = user_type("Query");
    schema_.mutation_ = user_type("Mutation");
    schema_.subscription_ = user_type("Subscription");
  }

  void add_directives(const Document& doc, bool built_in) {
    for (const TypeSystemDefinition& def : doc.type_definitions) {
      if (def.kind != TypeSystemDefinition::Kind::directive) continue;
      if (built_in && schema_.directive(def.name)) continue;  // the schema redefined it
      auto directive = std::make_unique<DirectiveDefinition>();
      directive->name = std::string(def.name);
      directive->description = def.description;
      directive->repeatable = def.repeatable;
      directive->built_in = built_in;
      for (const InputValueDefinition& a : def.arguments) directive->arguments.push_back(input_value(a));
      for (InputValue& a : directive->arguments) default_of(a);
      for (const NamedType& l : def.locations) directive->locations.emplace_back(l.name);
      schema_.directives_.push_back(directive.get());
      schema_.owned_directives_.push_back(std::move(directive));
    }
  }

  void collect_directives(const Document& doc) {
    add_directives(doc, false);
    add_directives(*prelude_, true);
  }

  // graphql-js's collectReferencedTypes: a type, then (depth first) what it refers to.
  void collect(const Type* type) {
    if (!type || !collected_.insert(type).second) return;
    schema_.types_.push_back(type);
    for (const Type* member : type->possible_types) {
      if (type->kind == TypeKind::union_type) collect(member);
    }
    for (const Type* i : type->interfaces) collect(i);
    for (const Field& f : type->fields) {
      if (f.type.valid()) collect(&f.type.named_type());
      for (const InputValue& a : f.arguments) {
        if (a.type.valid()) collect(&a.type.named_type());
      }
    }
    for (const InputValue& f : type->input_fields) {
      if (f.type.valid()) collect(&f.type.named_type());
    }
  }

  void collect_types(const Document& doc) {
    // The SDL's own types come first, in document order, whether referenced or not.
    std::vector<const Type*> user_types;
    for (const TypeSystemDefinition& def : doc.type_definitions) {
      if (def.extension || def.kind == TypeSystemDefinition::Kind::schema || def.kind == TypeSystemDefinition::Kind::directive) {
        continue;
      }
      const Type* t = find(def.name);
      if (t && !t->built_in) user_types.push_back(t);
    }
    // graphql-js puts every one of them in the set first, then re-adds each in turn: the
    // order is document order, each type followed by the built-ins it first refers to.
    collected_.insert(user_types.begin(), user_types.end());
    for (const Type* t : user_types) {
      collected_.erase(t);
      collect(t);
    }
    collect(schema_.query_);
    collect(schema_.mutation_);
    collect(schema_.subscription_);
    for (const DirectiveDefinition* d : schema_.directives_) {
      for (const InputValue& a : d->arguments) {
        if (a.type.valid()) collect(&a.type.named_type());
      }
    }
    collect(find("__Schema"));
    for (const Type* t : schema_.types_) schema_.by_name_.emplace(t->name, t);
  }

  void build_meta_fields() {
    const TypeExpr string_type = TypeExpr::non_null_of(TypeExpr::named(find("String")));
    schema_.typename_field_.name = "__typename";
    schema_.typename_field_.type = string_type;
    schema_.schema_field_.name = "__schema";
    schema_.schema_field_.type = TypeExpr::non_null_of(TypeExpr::named(find("__Schema")));
    schema_.type_field_.name = "__type";
    schema_.type_field_.type = TypeExpr::named(find("__Type"));
    InputValue name_argument;
    name_argument.name = "name";
    name_argument.type = string_type;
    schema_.type_field_.arguments = {name_argument};
  }

  void index_possible_types() {
    for (const Type* t : schema_.types_) {
      if (t->kind != TypeKind::object) continue;
      for (const Type* i : t->interfaces) {
        if (i && i->kind == TypeKind::interface) find(i->name)->possible_types.push_back(t);
      }
    }
  }

  Schema& schema_;
  std::vector<Error>& errors_;
  std::shared_ptr<const Document> prelude_;
  std::unordered_map<std::string_view, Type*> all_;
  std::unordered_set<const Type*> collected_;
};

std::shared_ptr<const Schema> Schema::build(std::string sdl, std::vector<Error>& errors) {
  auto schema = std::make_shared<Schema>();
  SchemaBuilder builder(*schema, errors);
  if (!builder.build(sdl)) return nullptr;
  return schema;
}

}  // namespace portico::graphql
