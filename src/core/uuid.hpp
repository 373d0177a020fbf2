// Random (version 4) UUIDs: node ids and the ids of entities created through the Admin API.
#pragma once

#include <string>

namespace portico {

std::string random_uuid();
bool is_uuid(std::string_view text);  // 8-4-4-4-12 hex digits

}  // namespace portico
