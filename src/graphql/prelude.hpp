// The SDL of what every schema holds: built-in scalars (Int, Float, String, Boolean, ID), the
// specified directives (@include, @skip, @deprecated, @specifiedBy, @oneOf) and the
// introspection types (__Schema, __Type, ...).
#pragma once

#include <string_view>

namespace portico::graphql {

std::string_view prelude_sdl();

}  // namespace portico::graphql
