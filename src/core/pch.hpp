// Precompiled header: the heavy, stable third-party headers used across the code base.
#pragma once
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <optional>
#include <functional>
