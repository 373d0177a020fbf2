// The GraphQL document model (issue 17): what the parser makes of a query or of a schema's SDL,
// as the GraphQL specification (October 2021) defines it.
//
// A Document owns its source text; names and raw number texts are views into it, so a Document
// is never copied and its source never moves. Every node records the byte offset where it starts
// in the source; Document::location turns an offset into the line and column that GraphQL errors
// report (columns counted as graphql-js counts them, in UTF-16 code units, so clients and tools
// point at the same character).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::graphql {

struct SourceLocation {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  bool operator==(const SourceLocation&) const = default;
};

struct ObjectField;

// A value written in the document: an argument, a default, a directive's argument.
struct Value {
  enum class Kind : std::uint8_t { variable, int_number, float_number, string, boolean, null, enum_value, list, object };
  Kind kind = Kind::null;
  std::uint32_t offset = 0;
  std::string_view raw;  // variable: its name; numbers: their text; enum: its name
  std::string string;    // string: the value, escapes resolved (block strings dedented)
  bool boolean = false;
  bool block = false;    // string: written as a block string
  std::vector<Value> items;         // list
  std::vector<ObjectField> fields;  // object
};

struct ObjectField {
  std::string_view name;
  std::uint32_t offset = 0;
  Value value;
};

// A type as written: `Int`, `[String!]!`.
struct TypeRef {
  enum class Kind : std::uint8_t { named, list, non_null };
  Kind kind = Kind::named;
  std::uint32_t offset = 0;
  std::string_view name;          // named
  std::unique_ptr<TypeRef> of;    // list, non_null
};

struct NamedType {
  std::string_view name;
  std::uint32_t offset = 0;
};

struct Argument {
  std::string_view name;
  std::uint32_t offset = 0;
  Value value;
};

struct Directive {
  std::string_view name;
  std::uint32_t offset = 0;       // the '@'
  std::uint32_t name_offset = 0;
  std::vector<Argument> arguments;
};

struct Selection;

struct SelectionSet {
  std::uint32_t offset = 0;  // the '{'
  std::vector<Selection> selections;
  bool empty() const { return selections.empty(); }
};

struct Selection {
  enum class Kind : std::uint8_t { field, fragment_spread, inline_fragment };
  Kind kind = Kind::field;
  std::uint32_t offset = 0;   // field: its alias or name; spreads: the '...'
  std::string_view alias;     // field
  std::string_view name;      // field: its name; fragment spread: the fragment's name
  std::uint32_t name_offset = 0;
  std::vector<Argument> arguments;  // field
  std::vector<Directive> directives;
  std::optional<NamedType> type_condition;  // inline fragment
  SelectionSet selection_set;               // field (maybe empty), inline fragment
  bool has_selection_set = false;

  // The key of a field in the response: its alias, else its name.
  std::string_view response_key() const { return alias.empty() ? name : alias; }
};

enum class OperationType : std::uint8_t { query, mutation, subscription };
std::string_view operation_type_name(OperationType type);

struct VariableDefinition {
  std::string_view name;
  std::uint32_t offset = 0;  // the '$'
  std::uint32_t name_offset = 0;
  TypeRef type;
  std::optional<Value> default_value;
  std::vector<Directive> directives;
};

struct OperationDefinition {
  OperationType type = OperationType::query;
  std::string_view name;  // empty: anonymous
  std::uint32_t offset = 0;
  std::uint32_t name_offset = 0;
  std::vector<VariableDefinition> variables;
  std::vector<Directive> directives;
  SelectionSet selection_set;
};

struct FragmentDefinition {
  std::string_view name;
  std::uint32_t offset = 0;  // 'fragment'
  std::uint32_t name_offset = 0;
  NamedType type_condition;
  std::vector<Directive> directives;
  SelectionSet selection_set;
};

// --- The type system (SDL) ---

struct InputValueDefinition {
  std::optional<std::string> description;
  std::string_view name;
  std::uint32_t offset = 0;
  TypeRef type;
  std::optional<Value> default_value;
  std::vector<Directive> directives;
};

struct FieldDefinition {
  std::optional<std::string> description;
  std::string_view name;
  std::uint32_t offset = 0;
  std::vector<InputValueDefinition> arguments;
  TypeRef type;
  std::vector<Directive> directives;
};

struct EnumValueDefinition {
  std::optional<std::string> description;
  std::string_view name;
  std::uint32_t offset = 0;
  std::vector<Directive> directives;
};

struct RootOperationType {
  OperationType operation = OperationType::query;
  NamedType type;
};

// One type-system definition or extension (`type User {...}`, `extend type User {...}`,
// `schema {...}`, `directive @auth on FIELD_DEFINITION`).
struct TypeSystemDefinition {
  enum class Kind : std::uint8_t { schema, scalar, object, interface, union_type, enum_type, input_object, directive };
  Kind kind = Kind::object;
  bool extension = false;
  std::uint32_t offset = 0;
  std::uint32_t name_offset = 0;
  std::string_view name;  // empty for schema
  std::optional<std::string> description;
  std::vector<Directive> directives;
  std::vector<NamedType> interfaces;                  // object, interface
  std::vector<FieldDefinition> fields;                // object, interface
  std::vector<NamedType> members;                     // union
  std::vector<EnumValueDefinition> values;            // enum
  std::vector<InputValueDefinition> input_fields;     // input object
  std::vector<RootOperationType> operation_types;     // schema
  std::vector<InputValueDefinition> arguments;        // directive
  bool repeatable = false;                            // directive
  std::vector<NamedType> locations;                   // directive
};

// A parsed document: operations, fragments and (in SDL, or by mistake in a query) type-system
// definitions, each list in document order.
struct Document {
  std::shared_ptr<const std::string> source;
  std::vector<OperationDefinition> operations;
  std::vector<FragmentDefinition> fragments;
  std::vector<TypeSystemDefinition> type_definitions;
  std::uint32_t token_count = 0;

  SourceLocation location(std::uint32_t offset) const;
};

// `[Int!]!` for error messages and introspection.
std::string print_type(const TypeRef& type);

}  // namespace portico::graphql
