// The dashboard's files (dashboard/src/ and uPlot), built into the binary by
// scripts/embed_assets.cmake: served by the admin listener under /dashboard/.
#pragma once

#include <span>
#include <string_view>

namespace portico::admin::dashboard_assets {

struct Asset {
  std::string_view path;  // under /dashboard/: "index.html", "vendor/uPlot.min.js"
  std::string_view body;
  std::string_view etag;  // quoted, from the file's SHA-256
};

std::span<const Asset> all();

}  // namespace portico::admin::dashboard_assets
