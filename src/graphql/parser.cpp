#include "graphql/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace portico::graphql {
namespace {

constexpr std::array<std::string_view, 19> kDirectiveLocations = {
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD", "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INTERFACE",
    "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT", "INPUT_FIELD_DEFINITION"};

// The keywords that start a type-system definition.
constexpr std::array<std::pair<std::string_view, TypeSystemDefinition::Kind>, 8> kTypeSystemKeywords = {{
    {"schema", TypeSystemDefinition::Kind::schema},
    {"scalar", TypeSystemDefinition::Kind::scalar},
    {"type", TypeSystemDefinition::Kind::object},
    {"interface", TypeSystemDefinition::Kind::interface},
    {"union", TypeSystemDefinition::Kind::union_type},
    {"enum", TypeSystemDefinition::Kind::enum_type},
    {"input", TypeSystemDefinition::Kind::input_object},
    {"directive", TypeSystemDefinition::Kind::directive},
}};

class Parser {
 public:
  Parser(std::string_view source, const ParseOptions& options) : lexer_(source), options_(options) {}

  void parse_document(Document& document) {
    advance();  // past the start of the file
    // A document holds at least one definition.
    do {
      parse_definition(document);
    } while (!peek(TokenKind::end_of_file));
    document.token_count = tokens_;
  }

 private:
  // --- token helpers (graphql-js's names) ---
  const Token& token() const { return lexer_.token(); }
  bool peek(TokenKind kind) const { return token().kind == kind; }

  void advance() {
    const Token& next = lexer_.advance();
    if (next.kind != TokenKind::end_of_file && options_.max_tokens != 0 && ++tokens_ > options_.max_tokens) {
      throw SyntaxError(next.start,
                        fmt::format("Document contains more than {} tokens. Parsing aborted.", options_.max_tokens));
    }
    if (options_.max_tokens == 0 && next.kind != TokenKind::end_of_file) ++tokens_;
  }

  Token expect(TokenKind kind) {
    if (!peek(kind)) {
      throw SyntaxError(token().start, fmt::format("Expected {}, found {}.", describe(kind), token().describe()));
    }
    Token t = token();
    advance();
    return t;
  }

  bool expect_optional(TokenKind kind) {
    if (!peek(kind)) return false;
    advance();
    return true;
  }

  void expect_keyword(std::string_view keyword) {
    if (!peek_keyword(keyword)) {
      throw SyntaxError(token().start, fmt::format("Expected \"{}\", found {}.", keyword, token().describe()));
    }
    advance();
  }

  bool peek_keyword(std::string_view keyword) const { return peek(TokenKind::name) && token().raw == keyword; }

  bool expect_optional_keyword(std::string_view keyword) {
    if (!peek_keyword(keyword)) return false;
    advance();
    return true;
  }

  [[noreturn]] void unexpected(const Token& at) const {
    throw SyntaxError(at.start, fmt::format("Unexpected {}.", at.describe()));
  }
  [[noreturn]] void unexpected() const { unexpected(token()); }

  // open item+ close (at least one item)
  template <typename F>
  void many(TokenKind open, TokenKind close, F&& item) {
    expect(open);
    do {
      item();
    } while (!expect_optional(close));
  }
  // (open item+ close)?
  template <typename F>
  bool optional_many(TokenKind open, TokenKind close, F&& item) {
    if (!expect_optional(open)) return false;
    do {
      item();
    } while (!expect_optional(close));
    return true;
  }
  // open item* close
  template <typename F>
  void any(TokenKind open, TokenKind close, F&& item) {
    expect(open);
    while (!expect_optional(close)) item();
  }
  // delimiter? item (delimiter item)*
  template <typename F>
  void delimited_many(TokenKind delimiter, F&& item) {
    expect_optional(delimiter);
    do {
      item();
    } while (expect_optional(delimiter));
  }

  std::string_view parse_name(std::uint32_t* offset = nullptr) {
    const Token t = expect(TokenKind::name);
    if (offset) *offset = t.start;
    return t.raw;
  }

  NamedType parse_named_type() {
    NamedType type;
    type.offset = token().start;
    type.name = parse_name();
    return type;
  }

  // --- definitions ---
  bool peek_description() const { return peek(TokenKind::string) || peek(TokenKind::block_string); }

  void parse_definition(Document& document) {
    if (peek(TokenKind::brace_l)) {
      document.operations.push_back(parse_operation_definition());
      return;
    }
    const bool has_description = peek_description();
    const Token keyword = has_description ? lexer_.lookahead() : token();
    if (keyword.kind == TokenKind::name) {
      const std::string_view word = keyword.raw;
      for (const auto& [name, kind] : kTypeSystemKeywords) {
        if (word == name) {
          document.type_definitions.push_back(parse_type_system_definition(kind, false));
          return;
        }
      }
      if (has_description) {
        throw SyntaxError(token().start, "Unexpected description, descriptions are supported only on type definitions.");
      }
      if (word == "query" || word == "mutation" || word == "subscription") {
        document.operations.push_back(parse_operation_definition());
        return;
      }
      if (word == "fragment") {
        document.fragments.push_back(parse_fragment_definition());
        return;
      }
      if (word == "extend") {
        document.type_definitions.push_back(parse_type_system_extension());
        return;
      }
    }
    unexpected(keyword);
  }

  OperationDefinition parse_operation_definition() {
    OperationDefinition op;
    op.offset = token().start;
    if (peek(TokenKind::brace_l)) {
      op.selection_set = parse_selection_set();
      return op;
    }
    op.type = parse_operation_type();
    if (peek(TokenKind::name)) op.name = parse_name(&op.name_offset);
    optional_many(TokenKind::paren_l, TokenKind::paren_r, [&] { op.variables.push_back(parse_variable_definition()); });
    op.directives = parse_directives(false);
    op.selection_set = parse_selection_set();
    return op;
  }

  OperationType parse_operation_type() {
    const Token t = expect(TokenKind::name);
    if (t.raw == "query") return OperationType::query;
    if (t.raw == "mutation") return OperationType::mutation;
    if (t.raw == "subscription") return OperationType::subscription;
    unexpected(t);
  }

  VariableDefinition parse_variable_definition() {
    VariableDefinition def;
    def.offset = token().start;
    expect(TokenKind::dollar);
    def.name = parse_name(&def.name_offset);
    expect(TokenKind::colon);
    def.type = parse_type_reference();
    if (expect_optional(TokenKind::equals)) def.default_value = parse_value(true);
    def.directives = parse_directives(true);
    return def;
  }

  SelectionSet parse_selection_set() {
    const Nesting nesting(*this);
    SelectionSet set;
    set.offset = token().start;
    many(TokenKind::brace_l, TokenKind::brace_r, [&] { set.selections.push_back(parse_selection()); });
    return set;
  }

  Selection parse_selection() { return peek(TokenKind::spread) ? parse_fragment() : parse_field(); }

  Selection parse_field() {
    Selection field;
    field.kind = Selection::Kind::field;
    field.offset = token().start;
    std::uint32_t first_offset = 0;
    const std::string_view name_or_alias = parse_name(&first_offset);
    if (expect_optional(TokenKind::colon)) {
      field.alias = name_or_alias;
      field.name = parse_name(&field.name_offset);
    } else {
      field.name = name_or_alias;
      field.name_offset = first_offset;
    }
    field.arguments = parse_arguments(false);
    field.directives = parse_directives(false);
    if (peek(TokenKind::brace_l)) {
      field.selection_set = parse_selection_set();
      field.has_selection_set = true;
    }
    return field;
  }

  std::vector<Argument> parse_arguments(bool is_const) {
    std::vector<Argument> arguments;
    optional_many(TokenKind::paren_l, TokenKind::paren_r, [&] {
      Argument argument;
      argument.offset = token().start;
      argument.name = parse_name();
      expect(TokenKind::colon);
      argument.value = parse_value(is_const);
      arguments.push_back(std::move(argument));
    });
    return arguments;
  }

  Selection parse_fragment() {
    Selection selection;
    selection.offset = token().start;
    expect(TokenKind::spread);
    const bool has_type_condition = expect_optional_keyword("on");
    if (!has_type_condition && peek(TokenKind::name)) {
      selection.kind = Selection::Kind::fragment_spread;
      selection.name = parse_fragment_name(&selection.name_offset);
      selection.directives = parse_directives(false);
      return selection;
    }
    selection.kind = Selection::Kind::inline_fragment;
    if (has_type_condition) selection.type_condition = parse_named_type();
    selection.directives = parse_directives(false);
    selection.selection_set = parse_selection_set();
    selection.has_selection_set = true;
    return selection;
  }

  std::string_view parse_fragment_name(std::uint32_t* offset) {
    if (peek_keyword("on")) unexpected();
    return parse_name(offset);
  }

  FragmentDefinition parse_fragment_definition() {
    FragmentDefinition fragment;
    fragment.offset = token().start;
    expect_keyword("fragment");
    fragment.name = parse_fragment_name(&fragment.name_offset);
    expect_keyword("on");
    fragment.type_condition = parse_named_type();
    fragment.directives = parse_directives(false);
    fragment.selection_set = parse_selection_set();
    return fragment;
  }

  // --- values ---
  Value parse_value(bool is_const) {
    const Nesting nesting(*this);
    const Token& t = token();
    Value value;
    value.offset = t.start;
    switch (t.kind) {
      case TokenKind::bracket_l:
        value.kind = Value::Kind::list;
        any(TokenKind::bracket_l, TokenKind::bracket_r, [&] { value.items.push_back(parse_value(is_const)); });
        return value;
      case TokenKind::brace_l:
        value.kind = Value::Kind::object;
        any(TokenKind::brace_l, TokenKind::brace_r, [&] {
          ObjectField field;
          field.offset = token().start;
          field.name = parse_name();
          expect(TokenKind::colon);
          field.value = parse_value(is_const);
          value.fields.push_back(std::move(field));
        });
        return value;
      case TokenKind::int_number:
      case TokenKind::float_number:
        value.kind = t.kind == TokenKind::int_number ? Value::Kind::int_number : Value::Kind::float_number;
        value.raw = t.raw;
        advance();
        return value;
      case TokenKind::string:
      case TokenKind::block_string:
        value.kind = Value::Kind::string;
        value.block = t.kind == TokenKind::block_string;
        value.string = t.value;
        advance();
        return value;
      case TokenKind::name:
        if (t.raw == "true" || t.raw == "false") {
          value.kind = Value::Kind::boolean;
          value.boolean = t.raw == "true";
        } else if (t.raw == "null") {
          value.kind = Value::Kind::null;
        } else {
          value.kind = Value::Kind::enum_value;
          value.raw = t.raw;
        }
        advance();
        return value;
      case TokenKind::dollar:
        if (is_const) {
          const Token dollar = t;
          advance();
          if (peek(TokenKind::name)) {
            throw SyntaxError(dollar.start, fmt::format("Unexpected variable \"${}\" in constant value.", token().raw));
          }
          unexpected(dollar);
        }
        value.kind = Value::Kind::variable;
        expect(TokenKind::dollar);
        value.raw = parse_name();
        return value;
      default:
        unexpected();
    }
  }

  std::vector<Directive> parse_directives(bool is_const) {
    std::vector<Directive> directives;
    while (peek(TokenKind::at)) {
      Directive directive;
      directive.offset = token().start;
      advance();
      directive.name = parse_name(&directive.name_offset);
      directive.arguments = parse_arguments(is_const);
      directives.push_back(std::move(directive));
    }
    return directives;
  }

  TypeRef parse_type_reference() {
    const Nesting nesting(*this);
    TypeRef type;
    type.offset = token().start;
    if (expect_optional(TokenKind::bracket_l)) {
      type.kind = TypeRef::Kind::list;
      type.of = std::make_unique<TypeRef>(parse_type_reference());
      expect(TokenKind::bracket_r);
    } else {
      type.kind = TypeRef::Kind::named;
      type.name = parse_name();
    }
    if (expect_optional(TokenKind::bang)) {
      TypeRef non_null;
      non_null.kind = TypeRef::Kind::non_null;
      non_null.offset = type.offset;
      non_null.of = std::make_unique<TypeRef>(std::move(type));
      return non_null;
    }
    return type;
  }

  // --- the type system ---
  std::optional<std::string> parse_description() {
    if (!peek_description()) return std::nullopt;
    std::string text = token().value;
    advance();
    return text;
  }

  TypeSystemDefinition parse_type_system_definition(TypeSystemDefinition::Kind kind, bool extension) {
    using Kind = TypeSystemDefinition::Kind;
    TypeSystemDefinition def;
    def.kind = kind;
    def.extension = extension;
    def.offset = token().start;
    if (!extension) def.description = parse_description();
    advance();  // the keyword (its kind is known)
    switch (kind) {
      case Kind::schema:
        def.directives = parse_directives(true);
        if (extension) {
          optional_many(TokenKind::brace_l, TokenKind::brace_r, [&] { def.operation_types.push_back(parse_root_operation()); });
          if (def.directives.empty() && def.operation_types.empty()) unexpected();
        } else {
          many(TokenKind::brace_l, TokenKind::brace_r, [&] { def.operation_types.push_back(parse_root_operation()); });
        }
        return def;
      case Kind::scalar:
        def.name = parse_name(&def.name_offset);
        def.directives = parse_directives(true);
        if (extension && def.directives.empty()) unexpected();
        return def;
      case Kind::object:
      case Kind::interface:
        def.name = parse_name(&def.name_offset);
        if (expect_optional_keyword("implements")) {
          delimited_many(TokenKind::amp, [&] { def.interfaces.push_back(parse_named_type()); });
        }
        def.directives = parse_directives(true);
        optional_many(TokenKind::brace_l, TokenKind::brace_r, [&] { def.fields.push_back(parse_field_definition()); });
        if (extension && def.interfaces.empty() && def.directives.empty() && def.fields.empty()) unexpected();
        return def;
      case Kind::union_type:
        def.name = parse_name(&def.name_offset);
        def.directives = parse_directives(true);
        if (expect_optional(TokenKind::equals)) {
          delimited_many(TokenKind::pipe, [&] { def.members.push_back(parse_named_type()); });
        }
        if (extension && def.directives.empty() && def.members.empty()) unexpected();
        return def;
      case Kind::enum_type:
        def.name = parse_name(&def.name_offset);
        def.directives = parse_directives(true);
        optional_many(TokenKind::brace_l, TokenKind::brace_r, [&] { def.values.push_back(parse_enum_value_definition()); });
        if (extension && def.directives.empty() && def.values.empty()) unexpected();
        return def;
      case Kind::input_object:
        def.name = parse_name(&def.name_offset);
        def.directives = parse_directives(true);
        optional_many(TokenKind::brace_l, TokenKind::brace_r,
                      [&] { def.input_fields.push_back(parse_input_value_definition()); });
        if (extension && def.directives.empty() && def.input_fields.empty()) unexpected();
        return def;
      case Kind::directive:
        expect(TokenKind::at);
        def.name = parse_name(&def.name_offset);
        optional_many(TokenKind::paren_l, TokenKind::paren_r,
                      [&] { def.arguments.push_back(parse_input_value_definition()); });
        def.repeatable = expect_optional_keyword("repeatable");
        expect_keyword("on");
        delimited_many(TokenKind::pipe, [&] {
          const Token at = token();
          NamedType location = parse_named_type();
          if (std::find(kDirectiveLocations.begin(), kDirectiveLocations.end(), location.name) == kDirectiveLocations.end()) {
            unexpected(at);
          }
          def.locations.push_back(location);
        });
        return def;
    }
    return def;
  }

  TypeSystemDefinition parse_type_system_extension() {
    const Token keyword = lexer_.lookahead();
    if (keyword.kind == TokenKind::name) {
      for (const auto& [name, kind] : kTypeSystemKeywords) {
        if (keyword.raw == name && kind != TypeSystemDefinition::Kind::directive) {  // directives cannot be extended
          const std::uint32_t start = token().start;
          advance();  // 'extend'
          TypeSystemDefinition def = parse_type_system_definition(kind, true);
          def.offset = start;
          return def;
        }
      }
    }
    unexpected(keyword);
  }

  RootOperationType parse_root_operation() {
    RootOperationType root;
    root.operation = parse_operation_type();
    expect(TokenKind::colon);
    root.type = parse_named_type();
    return root;
  }

  FieldDefinition parse_field_definition() {
    FieldDefinition field;
    field.offset = token().start;
    field.description = parse_description();
    field.name = parse_name();
    optional_many(TokenKind::paren_l, TokenKind::paren_r, [&] { field.arguments.push_back(parse_input_value_definition()); });
    expect(TokenKind::colon);
    field.type = parse_type_reference();
    field.directives = parse_directives(true);
    return field;
  }

  InputValueDefinition parse_input_value_definition() {
    InputValueDefinition value;
    value.offset = token().start;
    value.description = parse_description();
    value.name = parse_name();
    expect(TokenKind::colon);
    value.type = parse_type_reference();
    if (expect_optional(TokenKind::equals)) value.default_value = parse_value(true);
    value.directives = parse_directives(true);
    return value;
  }

  EnumValueDefinition parse_enum_value_definition() {
    EnumValueDefinition value;
    value.offset = token().start;
    value.description = parse_description();
    if (peek_keyword("true") || peek_keyword("false") || peek_keyword("null")) {
      throw SyntaxError(token().start,
                        fmt::format("{} is reserved and cannot be used for an enum value.", token().describe()));
    }
    value.name = parse_name();
    value.directives = parse_directives(true);
    return value;
  }

  // Selection sets, list and object values and list types nest; past kMaxNesting levels the
  // document is refused, so that no document can exhaust the stack of the recursive descent
  // (or of the validation and execution that follow its shape).
  static constexpr std::uint32_t kMaxNesting = 256;
  struct Nesting {
    Parser& parser;
    explicit Nesting(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxNesting) {
        throw SyntaxError(parser.token().start, fmt::format("Document nesting is deeper than {} levels.", kMaxNesting));
      }
    }
    ~Nesting() { --parser.depth_; }
  };

  Lexer lexer_;
  const ParseOptions& options_;
  std::uint32_t tokens_ = 0;
  std::uint32_t depth_ = 0;
};

}  // namespace

std::string_view operation_type_name(OperationType type) {
  switch (type) {
    case OperationType::query: return "query";
    case OperationType::mutation: return "mutation";
    case OperationType::subscription: return "subscription";
  }
  return "query";
}

SourceLocation Document::location(std::uint32_t offset) const {
  const std::string& text = *source;
  SourceLocation location{1, 1};
  const std::size_t end = std::min<std::size_t>(offset, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) {
      ++location.line;
      location.column = 1;
    } else if (c == '\r') {
      // the '\r' of "\r\n": the '\n' ends the line
    } else if ((c & 0xC0) != 0x80) {
      // A code point's first byte; those past U+FFFF take two UTF-16 code units.
      location.column += (c >= 0xF0) ? 2 : 1;
    }
  }
  return location;
}

std::string print_type(const TypeRef& type) {
  switch (type.kind) {
    case TypeRef::Kind::named: return std::string(type.name);
    case TypeRef::Kind::list: return "[" + print_type(*type.of) + "]";
    case TypeRef::Kind::non_null: return print_type(*type.of) + "!";
  }
  return {};
}

Document parse(std::string source, const ParseOptions& options) {
  Document document;
  document.source = std::make_shared<const std::string>(std::move(source));
  Parser parser(*document.source, options);
  parser.parse_document(document);
  return document;
}

}  // namespace portico::graphql
