// What a plugin's call to a service gave (the aggregate plugin's backends, the graphql
// plugin's resolvers): a 2xx answer with a JSON body, or why not, in words a client can read.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "plugin/backend_client.hpp"
#include "plugin/calls/pointer.hpp"

namespace portico::plugin::calls {

struct Answer {
  bool ok = false;
  bool timed_out = false;
  boost::json::value body;  // ok: the parsed body (null when it had none)
  std::string error;        // not ok: "answered 503", "timed out", "connection failed", ...
};

// A 2xx answer with a JSON body (or none) is ok; anything else is an error saying what.
Answer read_answer(const BackendResult& result);

// The item of `list` (an array of objects) whose `key` field's text is `wanted`, or null.
boost::json::value item_by_key(const boost::json::value& list, std::string_view key, std::string_view wanted);
// The same without a copy: where it is inside `list`, or nullptr.
const boost::json::value* find_item_by_key(const boost::json::value& list, std::string_view key, std::string_view wanted);

}  // namespace portico::plugin::calls
