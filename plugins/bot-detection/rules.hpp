// The bot-detection plugin's built-in list (rules.cpp).
#pragma once

#include <string_view>
#include <vector>

namespace portico::plugins::bot_detection {

// Kong's default bad-bot patterns (RE2 syntax, unanchored), in Kong's order.
const std::vector<std::string_view>& builtin_bot_patterns();

}  // namespace portico::plugins::bot_detection
