// libFuzzer target: the GraphQL lexer and parser (src/graphql), on queries and on SDL. Any
// input must either parse or be refused with a SyntaxError whose offset lies inside the
// input; a parsed document's locations must lie inside it too; the same text read as SDL must
// build a schema or be refused with errors, never crash. A document parsed once must parse
// again the same way (same definitions), with a token limit refusing it only when it is long.
// Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "graphql/parser.hpp"
#include "graphql/schema.hpp"

using namespace portico::graphql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Document document = parse(text);
    for (const OperationDefinition& op : document.operations) {
      if (op.offset > size) std::abort();
      const SourceLocation location = document.location(op.offset);
      if (location.line == 0 || location.column == 0) std::abort();
    }
    const Document again = parse(text);
    if (again.operations.size() != document.operations.size() || again.fragments.size() != document.fragments.size() ||
        again.type_definitions.size() != document.type_definitions.size() || again.token_count != document.token_count) {
      std::abort();
    }
    // A limit at the document's own token count accepts it; one below refuses it.
    ParseOptions limited;
    limited.max_tokens = document.token_count;
    (void)parse(text, limited);
    if (document.token_count > 1) {
      limited.max_tokens = document.token_count - 1;
      bool refused = false;
      try {
        (void)parse(text, limited);
      } catch (const SyntaxError&) {
        refused = true;
      }
      if (!refused) std::abort();
    }
  } catch (const SyntaxError& e) {
    if (e.offset() > size) std::abort();
  }
  std::vector<Error> errors;
  const auto schema = Schema::build(text, errors);
  if (!schema && errors.empty()) std::abort();
  if (schema && (!errors.empty() || !schema->type("__Schema"))) std::abort();
  return 0;
}
