#include "graphql/schema_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "graphql/schema.hpp"

namespace portico::graphql {
namespace {

using Kind = TypeSystemDefinition::Kind;

std::string_view kind_word(Kind kind) {
  switch (kind) {
    case Kind::scalar: return "scalar";
    case Kind::object: return "object";
    case Kind::interface: return "interface";
    case Kind::union_type: return "union";
    case Kind::enum_type: return "enum";
    case Kind::input_object: return "input object";
    default: return "type";
  }
}

std::string_view directive_location(Kind kind) {
  switch (kind) {
    case Kind::schema: return "SCHEMA";
    case Kind::scalar: return "SCALAR";
    case Kind::object: return "OBJECT";
    case Kind::interface: return "INTERFACE";
    case Kind::union_type: return "UNION";
    case Kind::enum_type: return "ENUM";
    case Kind::input_object: return "INPUT_OBJECT";
    default: return "";
  }
}

class SdlChecker {
 public:
  SdlChecker(const Document& sdl, const Document& prelude, std::vector<Error>& errors)
      : sdl_(sdl), prelude_(prelude), errors_(errors) {}

  void run() {
    index(prelude_, true);
    index(sdl_, false);
    bool seen_schema = false;
    std::set<OperationType> root_operations;
    std::map<std::string_view, int> type_names;
    std::set<std::string_view> directive_names;
    for (const TypeSystemDefinition& def : sdl_.type_definitions) {
      if (def.kind == Kind::schema) {
        if (!def.extension) {
          if (seen_schema) report("Must provide only one schema definition.", def.offset);
          seen_schema = true;
        }
        for (const RootOperationType& root : def.operation_types) {
          if (!root_operations.insert(root.operation).second) {
            report(fmt::format("There can be only one {} type in schema.", operation_type_name(root.operation)), root.type.offset);
          }
          check_type_name(root.type);
        }
        check_directives(def.directives, "SCHEMA");
        continue;
      }
      if (def.kind == Kind::directive) {
        if (!def.extension && !directive_names.insert(def.name).second) {
          report(fmt::format("There can be only one directive named \"@{}\".", def.name), def.name_offset);
        }
        check_arguments(def.arguments, "@" + std::string(def.name));
        continue;
      }
      if (!def.extension && ++type_names[def.name] > 1) {
        report(fmt::format("There can be only one type named \"{}\".", def.name), def.name_offset);
      }
      if (def.extension) check_extension(def);
      check_directives(def.directives, directive_location(def.kind));
      check_type_body(def);
    }
  }

 private:
  void report(std::string message, std::uint32_t offset) { errors_.push_back(document_error(sdl_, std::move(message), {offset})); }

  void index(const Document& doc, bool built_in) {
    for (const TypeSystemDefinition& def : doc.type_definitions) {
      if (def.kind == Kind::directive) {
        directives_.emplace(def.name, &def);
      } else if (def.kind != Kind::schema && !def.extension) {
        if (!built_in || !types_.count(def.name)) types_[def.name] = &def;
      }
    }
  }

  void check_type_name(const NamedType& type) {
    if (!types_.count(type.name)) report(fmt::format("Unknown type \"{}\".", type.name), type.offset);
  }

  void check_type_ref(const TypeRef& ref) {
    if (ref.kind != TypeRef::Kind::named) return check_type_ref(*ref.of);
    check_type_name({ref.name, ref.offset});
  }

  void check_directives(const std::vector<Directive>& directives, std::string_view location) {
    std::set<std::string_view> seen;
    for (const Directive& d : directives) {
      const auto it = directives_.find(d.name);
      if (it == directives_.end()) {
        report(fmt::format("Unknown directive \"@{}\".", d.name), d.offset);
        continue;
      }
      const auto& locations = it->second->locations;
      if (!location.empty() && std::none_of(locations.begin(), locations.end(),
                                            [&](const NamedType& l) { return l.name == location; })) {
        report(fmt::format("Directive \"@{}\" may not be used on {}.", d.name, location), d.offset);
      }
      if (!it->second->repeatable && !seen.insert(d.name).second) {
        report(fmt::format("The directive \"@{}\" can only be used once at this location.", d.name), d.offset);
      }
    }
  }

  void check_arguments(const std::vector<InputValueDefinition>& arguments, const std::string& parent) {
    std::set<std::string_view> seen;
    for (const InputValueDefinition& a : arguments) {
      if (!seen.insert(a.name).second) {
        report(fmt::format("Argument \"{}({}:)\" can only be defined once.", parent, a.name), a.offset);
      }
      check_type_ref(a.type);
      check_directives(a.directives, "ARGUMENT_DEFINITION");
    }
  }

  void check_extension(const TypeSystemDefinition& def) {
    const auto it = types_.find(def.name);
    if (it == types_.end()) {
      report(fmt::format("Cannot extend type \"{}\" because it is not defined.", def.name), def.name_offset);
      return;
    }
    if (it->second->kind != def.kind) {
      report(fmt::format("Cannot extend non-{} type \"{}\".", kind_word(def.kind), def.name), def.offset);
    }
  }

  void check_type_body(const TypeSystemDefinition& def) {
    const std::string type_name(def.name);
    std::set<std::string_view>& fields = fields_[def.name];
    for (const NamedType& i : def.interfaces) check_type_name(i);
    for (const FieldDefinition& f : def.fields) {
      if (!fields.insert(f.name).second) {
        report(fmt::format("Field \"{}.{}\" can only be defined once.", def.name, f.name), f.offset);
      }
      check_type_ref(f.type);
      check_arguments(f.arguments, type_name + "." + std::string(f.name));
      check_directives(f.directives, "FIELD_DEFINITION");
    }
    for (const NamedType& m : def.members) check_type_name(m);
    for (const EnumValueDefinition& v : def.values) {
      if (!fields.insert(v.name).second) {
        report(fmt::format("Enum value \"{}.{}\" can only be defined once.", def.name, v.name), v.offset);
      }
      check_directives(v.directives, "ENUM_VALUE");
    }
    for (const InputValueDefinition& f : def.input_fields) {
      if (!fields.insert(f.name).second) {
        report(fmt::format("Field \"{}.{}\" can only be defined once.", def.name, f.name), f.offset);
      }
      check_type_ref(f.type);
      check_directives(f.directives, "INPUT_FIELD_DEFINITION");
    }
  }

  const Document& sdl_;
  const Document& prelude_;
  std::vector<Error>& errors_;
  std::map<std::string_view, const TypeSystemDefinition*> types_;
  std::map<std::string_view, const TypeSystemDefinition*> directives_;
  std::map<std::string_view, std::set<std::string_view>> fields_;
};

class SchemaChecker {
 public:
  SchemaChecker(const Schema& schema, std::vector<Error>& errors) : schema_(schema), errors_(errors) {}

  void run() {
    check_roots();
    for (const DirectiveDefinition* d : schema_.directives()) {
      if (d->built_in) continue;
      check_name(d->name, 0);
      for (const InputValue& a : d->arguments) {
        check_name(a.name, a.offset);
        if (!a.type.named_type().is_input()) {
          report(fmt::format("The type of @{}({}:) must be Input Type but got: {}.", d->name, a.name, a.type.to_string()), a.offset);
        }
        if (a.type.is_non_null() && !a.default_literal && a.deprecation_reason) {
          report(fmt::format("Required argument @{}({}:) cannot be deprecated.", d->name, a.name), a.offset);
        }
      }
    }
    for (const Type* type : schema_.types()) {
      if (type->built_in) continue;
      check_name(type->name, type->offset);
      switch (type->kind) {
        case TypeKind::object:
        case TypeKind::interface: check_fields(*type); check_interfaces(*type); break;
        case TypeKind::union_type: check_union(*type); break;
        case TypeKind::enum_type: check_enum(*type); break;
        case TypeKind::input_object: check_input_object(*type); break;
        case TypeKind::scalar: break;
      }
    }
  }

 private:
  void report(std::string message, std::uint32_t offset) {
    errors_.push_back(document_error(schema_.document(), std::move(message), {offset}));
  }

  void check_name(const std::string& name, std::uint32_t offset) {
    if (name.rfind("__", 0) == 0) {
      report(fmt::format("Name \"{}\" must not begin with \"__\", which is reserved by GraphQL introspection.", name), offset);
    }
  }

  void check_roots() {
    if (!schema_.query_type()) {
      errors_.push_back({"Query root type must be provided.", {}, {}});
    }
    const std::pair<const Type*, const char*> roots[] = {
        {schema_.query_type(), "Query"}, {schema_.mutation_type(), "Mutation"}, {schema_.subscription_type(), "Subscription"}};
    for (const auto& [type, label] : roots) {
      if (type && type->kind != TypeKind::object) {
        report(fmt::format("{} root type must be Object type, it cannot be {}.", label, type->name), type->offset);
      }
    }
  }

  void check_fields(const Type& type) {
    if (type.fields.empty()) report(fmt::format("Type {} must define one or more fields.", type.name), type.offset);
    for (const Field& f : type.fields) {
      check_name(f.name, f.offset);
      if (!f.type.named_type().is_output()) {
        report(fmt::format("The type of {}.{} must be Output Type but got: {}.", type.name, f.name, f.type.to_string()), f.offset);
      }
      for (const InputValue& a : f.arguments) {
        check_name(a.name, a.offset);
        if (!a.type.named_type().is_input()) {
          report(fmt::format("The type of {}.{}({}:) must be Input Type but got: {}.", type.name, f.name, a.name, a.type.to_string()),
                 a.offset);
        }
        if (a.type.is_non_null() && !a.default_literal && a.deprecation_reason) {
          report(fmt::format("Required argument {}.{}({}:) cannot be deprecated.", type.name, f.name, a.name), a.offset);
        }
      }
    }
  }

  void check_interfaces(const Type& type) {
    std::set<const Type*> seen;
    for (const Type* iface : type.interfaces) {
      if (iface->kind != TypeKind::interface) {
        report(fmt::format("Type {} must only implement Interface types, it cannot implement {}.", type.name, iface->name), type.offset);
        continue;
      }
      if (iface == &type) {
        report(fmt::format("Type {} cannot implement itself because it would create a circular reference.", type.name), type.offset);
        continue;
      }
      if (!seen.insert(iface).second) {
        report(fmt::format("Type {} can only implement {} once.", type.name, iface->name), type.offset);
        continue;
      }
      for (const Type* transitive : iface->interfaces) {
        if (transitive != &type && std::find(type.interfaces.begin(), type.interfaces.end(), transitive) == type.interfaces.end()) {
          report(fmt::format("Type {} must implement {} because it is implemented by {}.", type.name, transitive->name, iface->name),
                 type.offset);
        }
      }
      check_implementation(type, *iface);
    }
  }

  void check_implementation(const Type& type, const Type& iface) {
    for (const Field& expected : iface.fields) {
      const Field* field = type.field(expected.name);
      if (!field) {
        report(fmt::format("Interface field {}.{} expected but {} does not provide it.", iface.name, expected.name, type.name),
               type.offset);
        continue;
      }
      if (!is_type_sub_type_of(schema_, field->type, expected.type)) {
        report(fmt::format("Interface field {}.{} expects type {} but {}.{} is type {}.", iface.name, expected.name,
                           expected.type.to_string(), type.name, field->name, field->type.to_string()),
               field->offset);
      }
      for (const InputValue& arg : expected.arguments) {
        const InputValue* given = field->argument(arg.name);
        if (!given) {
          report(fmt::format("Interface field argument {}.{}({}:) expected but {}.{} does not provide it.", iface.name,
                             expected.name, arg.name, type.name, field->name),
                 field->offset);
        } else if (!(given->type == arg.type)) {
          report(fmt::format("Interface field argument {}.{}({}:) expects type {} but {}.{}({}:) is type {}.", iface.name,
                             expected.name, arg.name, arg.type.to_string(), type.name, field->name, arg.name,
                             given->type.to_string()),
                 given->offset);
        }
      }
      for (const InputValue& arg : field->arguments) {
        if (!expected.argument(arg.name) && arg.type.is_non_null() && !arg.default_literal) {
          report(fmt::format("Object field {}.{} includes required argument {} that is missing from the Interface field {}.{}.",
                             type.name, field->name, arg.name, iface.name, expected.name),
                 arg.offset);
        }
      }
    }
  }

  void check_union(const Type& type) {
    if (type.possible_types.empty()) report(fmt::format("Union type {} must define one or more member types.", type.name), type.offset);
    std::set<const Type*> seen;
    for (const Type* member : type.possible_types) {
      if (!seen.insert(member).second) {
        report(fmt::format("Union type {} can only include type {} once.", type.name, member->name), type.offset);
      } else if (member->kind != TypeKind::object) {
        report(fmt::format("Union type {} can only include Object types, it cannot include {}.", type.name, member->name),
               type.offset);
      }
    }
  }

  void check_enum(const Type& type) {
    if (type.values.empty()) report(fmt::format("Enum type {} must define one or more values.", type.name), type.offset);
    for (const EnumValue& v : type.values) check_name(v.name, type.offset);
  }

  void check_input_object(const Type& type) {
    if (type.input_fields.empty()) {
      report(fmt::format("Input Object type {} must define one or more fields.", type.name), type.offset);
    }
    for (const InputValue& f : type.input_fields) {
      check_name(f.name, f.offset);
      if (!f.type.named_type().is_input()) {
        report(fmt::format("The type of {}.{} must be Input Type but got: {}.", type.name, f.name, f.type.to_string()), f.offset);
      }
      if (f.type.is_non_null() && !f.default_literal && f.deprecation_reason) {
        report(fmt::format("Required input field {}.{} cannot be deprecated.", type.name, f.name), f.offset);
      }
      if (type.one_of) {
        if (f.type.is_non_null()) report(fmt::format("OneOf input field {}.{} must be nullable.", type.name, f.name), f.offset);
        if (f.default_literal) report(fmt::format("OneOf input field {}.{} cannot have a default value.", type.name, f.name), f.offset);
      }
    }
    check_input_cycles(type);
  }

  // An input object may not require itself through non-null fields: no value could be written.
  void check_input_cycles(const Type& start) {
    std::vector<std::string> path;
    std::set<const Type*> visiting;
    std::function<void(const Type&)> visit = [&](const Type& type) {
      if (!visiting.insert(&type).second) return;
      for (const InputValue& f : type.input_fields) {
        if (!f.type.is_non_null() || !f.type.of().is_named()) continue;
        const Type& next = f.type.named_type();
        if (next.kind != TypeKind::input_object) continue;
        path.push_back(f.name);
        if (&next == &start) {
          std::string shown;
          for (std::size_t i = 0; i < path.size(); ++i) shown += (i ? "." : "") + path[i];
          if (reported_cycles_.insert(shown + "@" + start.name).second) {
            report(fmt::format("Cannot reference Input Object \"{}\" within itself through a series of non-null fields: \"{}\".",
                               start.name, shown),
                   f.offset);
          }
        } else {
          visit(next);
        }
        path.pop_back();
      }
    };
    visit(start);
  }

  const Schema& schema_;
  std::vector<Error>& errors_;
  std::set<std::string> reported_cycles_;
};

}  // namespace

void validate_sdl(const Document& sdl, const Document& prelude, std::vector<Error>& errors) {
  SdlChecker(sdl, prelude, errors).run();
}

void validate_schema(const Schema& schema, std::vector<Error>& errors) { SchemaChecker(schema, errors).run(); }

}  // namespace portico::graphql
