// Regexes written in Kong's language, run by RE2.
//
// Kong users write regexes for PCRE (Kong 2, and Kong 3's documentation): route paths
// ("~/items/(?<item>[0-9]+)$"), "~*" header values, and plugin fields that take a regex.
// RE2 (Debian 12's, 2022-06) reads most of that syntax, but knows named groups only as
// `(?P<name>...)`. Every user-written regex therefore goes through `compile_kong_regex`
// (never straight into RE2), which translates the dialect and refuses, with a message that
// says why, what RE2 cannot run: lookaround and backreferences (they need backtracking;
// RE2 matches in linear time, as does Kong 3's own router).
//
// Pure functions; safe from any thread. Called at configuration load and snapshot build,
// never per request.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portico::config {

// The RE2 spelling of `kong`: `(?<name>` and `(?'name'` become `(?P<name>`; everything
// else is kept byte for byte (escapes, `\Q...\E` and character classes are not looked
// into). An error (kind config) names the construct RE2 cannot run and why.
Result<std::string> translate_kong_regex(std::string_view kong);

// Translates and compiles `kong` with `options` (log_errors is turned off). On failure the
// error message quotes the user's pattern: "invalid regex '(?<=a)b': lookbehind ...".
Result<std::shared_ptr<re2::RE2>> compile_kong_regex(std::string_view kong, RE2::Options options = {});

}  // namespace portico::config
