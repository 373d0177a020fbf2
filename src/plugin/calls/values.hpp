// The values call templates read (template.hpp): from the client's request (query, path
// captures, headers, the verified token's claims, the consumer) and from JSON the plugin holds
// (an earlier backend's answer, a GraphQL field's arguments or parent object).
//
// Client values are copied out of the request when the plugin starts, before a request body
// is read (reading it moves the request head's bytes). An empty value counts as missing: a
// template never sends an empty string where the client was meant to give one.
#pragma once

#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "plugin/calls/template.hpp"

namespace portico::plugin {
class RequestContext;
}

namespace portico::plugin::calls {

// The text a JSON value stands for in a template: a string as it is, a number or boolean as
// JSON writes it, an array of those as a list (join_items: rendered "3,5,8", or joined as a
// `|join:` reference says); nullopt for null, objects, empty strings and arrays holding
// anything else.
std::optional<std::string> scalar_text(const boost::json::value& v);

// The value at a dot path ("address.city"; a segment meeting an array applies to each
// element, giving an array), or nullopt when the path leads nowhere.
std::optional<boost::json::value> value_at(const boost::json::value& root, std::string_view dotted);

// One client source's value: query (percent-decoded), path (a named or numbered capture),
// header, jwt (a claim of the verified token), consumer (id, username). nullopt when the
// request has none (or it is empty). `claims` caches the decoded token claims.
std::optional<std::string> client_value(const plugin::RequestContext& ctx, const Reference& ref,
                                        std::optional<boost::json::value>& claims);

// Whether a reference reads the client's request (query, path, header, jwt, consumer), as
// opposed to JSON the plugin holds.
bool is_client_source(std::string_view source);

}  // namespace portico::plugin::calls
