// Strict JSON for JWT headers and claim sets: RFC 8259 only (no comments, no trailing
// commas, valid UTF-8), a JSON object at the top, and no duplicate member names at any
// depth (RFC 7515 section 5.2 allows rejecting them; accepting them lets two parsers
// read different claims from one token).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <string>
#include <string_view>

namespace portico::plugins::jwt {

// Parses `text` into `out` (allocating from `storage`); false with a short reason in `error`.
bool parse_strict_object(std::string_view text, boost::json::object& out, std::string& error,
                         boost::json::storage_ptr storage = {});

}  // namespace portico::plugins::jwt
