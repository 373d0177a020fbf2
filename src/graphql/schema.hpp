// A GraphQL schema (issue 17), built once from SDL when the configuration is read and then
// shared, immutable, by every worker.
//
// The built-in scalars, directives (@include, @skip, @deprecated, @specifiedBy, @oneOf) and the
// introspection types (__Schema, __Type...) are part of every schema, as in graphql-js 16: a
// built-in scalar is in the schema only when something refers to it, and `types` lists the
// types in graphql-js's order (the SDL's types in document order, each followed by the
// built-ins it first refers to), so introspection answers match the reference.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graphql/ast.hpp"
#include "graphql/error.hpp"

namespace portico::graphql {

enum class TypeKind : std::uint8_t { scalar, object, interface, union_type, enum_type, input_object };

struct Type;

// A type as used by a field, an argument or a variable: a named type wrapped in lists and
// non-nulls. Cheap to copy (wrappers are shared).
class TypeExpr {
 public:
  enum class Kind : std::uint8_t { named, list, non_null };
  TypeExpr() = default;
  static TypeExpr named(const Type* type);
  static TypeExpr list_of(TypeExpr item);
  static TypeExpr non_null_of(TypeExpr type);

  Kind kind() const { return kind_; }
  bool is_non_null() const { return kind_ == Kind::non_null; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_named() const { return kind_ == Kind::named; }
  bool valid() const { return kind_ != Kind::named || type_ != nullptr; }
  // list / non_null: the wrapped type.
  const TypeExpr& of() const { return *of_; }
  // The type without its outer non-null (itself when nullable).
  const TypeExpr& nullable() const { return is_non_null() ? *of_ : *this; }
  // The named type inside every wrapper.
  const Type& named_type() const;
  std::string to_string() const;
  bool operator==(const TypeExpr& other) const;

 private:
  Kind kind_ = Kind::named;
  const Type* type_ = nullptr;
  std::shared_ptr<const TypeExpr> of_;
};

struct InputValue {
  std::string name;
  std::optional<std::string> description;
  TypeExpr type;
  std::optional<boost::json::value> default_value;  // coerced
  const Value* default_literal = nullptr;           // as written, in the SDL
  std::optional<std::string> deprecation_reason;
  std::uint32_t offset = 0;
};

struct Field {
  std::string name;
  std::optional<std::string> description;
  std::vector<InputValue> arguments;
  TypeExpr type;
  std::optional<std::string> deprecation_reason;
  std::uint32_t offset = 0;
  const InputValue* argument(std::string_view name) const;
};

struct EnumValue {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> deprecation_reason;
};

struct Type {
  TypeKind kind = TypeKind::scalar;
  std::string name;
  std::optional<std::string> description;
  std::vector<Field> fields;                  // object, interface
  std::vector<const Type*> interfaces;        // object, interface
  std::vector<const Type*> possible_types;    // union: members; interface: implementing objects
  std::vector<EnumValue> values;              // enum
  std::vector<InputValue> input_fields;       // input object
  std::optional<std::string> specified_by_url;
  bool one_of = false;                        // input object with @oneOf
  bool built_in = false;
  std::uint32_t offset = 0;

  const Field* field(std::string_view name) const;
  const EnumValue* enum_value(std::string_view name) const;
  const InputValue* input_field(std::string_view name) const;
  bool is_composite() const { return kind == TypeKind::object || kind == TypeKind::interface || kind == TypeKind::union_type; }
  bool is_abstract() const { return kind == TypeKind::interface || kind == TypeKind::union_type; }
  bool is_leaf() const { return kind == TypeKind::scalar || kind == TypeKind::enum_type; }
  bool is_input() const { return is_leaf() || kind == TypeKind::input_object; }
  bool is_output() const { return kind != TypeKind::input_object; }
};

struct DirectiveDefinition {
  std::string name;
  std::optional<std::string> description;
  std::vector<InputValue> arguments;
  bool repeatable = false;
  std::vector<std::string> locations;
  bool built_in = false;
  const InputValue* argument(std::string_view name) const;
  bool allowed_at(std::string_view location) const;
};

class Schema {
 public:
  // Builds and validates a schema from SDL; on failure returns nullptr and fills `errors`
  // (each with the SDL's line and column).
  static std::shared_ptr<const Schema> build(std::string sdl, std::vector<Error>& errors);

  const Type* type(std::string_view name) const;
  const std::vector<const Type*>& types() const { return types_; }
  const Type* query_type() const { return query_; }
  const Type* mutation_type() const { return mutation_; }
  const Type* subscription_type() const { return subscription_; }
  const Type* root_type(OperationType operation) const;
  const std::vector<const DirectiveDefinition*>& directives() const { return directives_; }
  const DirectiveDefinition* directive(std::string_view name) const;
  const std::optional<std::string>& description() const { return description_; }

  // The fields every type answers without declaring them: `__typename` on any object,
  // interface or union, `__schema` and `__type(name:)` on the query root; nullptr otherwise.
  const Field* meta_field(const Type& parent, std::string_view name) const;

  // Whether `object` is one of `abstract`'s possible types (`abstract` may be an interface
  // implemented by another interface, for fragments).
  bool is_sub_type(const Type& abstract, const Type& maybe_sub) const;
  // Whether two composite types share a possible object type.
  bool types_overlap(const Type& a, const Type& b) const;
  // The possible object types of a composite type (itself for an object).
  std::vector<const Type*> possible_types(const Type& type) const;

  // The SDL document the schema was built from.
  const Document& document() const { return *sdl_; }

 private:
  friend class SchemaBuilder;
  std::shared_ptr<const Document> sdl_;
  std::vector<std::unique_ptr<Type>> owned_types_;
  std::vector<std::unique_ptr<DirectiveDefinition>> owned_directives_;
  std::unordered_map<std::string_view, const Type*> by_name_;
  std::vector<const Type*> types_;
  std::vector<const DirectiveDefinition*> directives_;
  const Type* query_ = nullptr;
  const Type* mutation_ = nullptr;
  const Type* subscription_ = nullptr;
  std::optional<std::string> description_;
  Field typename_field_;
  Field schema_field_;
  Field type_field_;
};

// Whether `sub` may be used where `super` is expected (non-null narrower than nullable,
// lists item-wise, objects for the interfaces and unions they belong to).
bool is_type_sub_type_of(const Schema& schema, const TypeExpr& sub, const TypeExpr& super);

}  // namespace portico::graphql
