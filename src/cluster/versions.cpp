#include "cluster/versions.hpp"

#include <charconv>
#include <optional>

namespace portico::cluster {
namespace {

struct MajorMinor {
  int major = 0, minor = 0;
};

// "MAJOR.MINOR.PATCH..." (anything after the patch number is ignored).
std::optional<MajorMinor> parse(std::string_view v) {
  MajorMinor out;
  int patch = 0;
  const char* p = v.data();
  const char* end = v.data() + v.size();
  auto number = [&](int& n) {
    auto r = std::from_chars(p, end, n);
    if (r.ec != std::errc{}) return false;
    p = r.ptr;
    return true;
  };
  auto dot = [&] {
    if (p == end || *p != '.') return false;
    ++p;
    return true;
  };
  if (!number(out.major) || !dot() || !number(out.minor) || !dot() || !number(patch)) return std::nullopt;
  return out;
}

}  // namespace

std::string version_problem(std::string_view data_plane, std::string_view control_plane) {
  auto dp = parse(data_plane), cp = parse(control_plane);
  std::string accepted = cp ? " (" + std::to_string(cp->major) + ".x.y are accepted)" : "";
  if (!dp || !cp || dp->major != cp->major) {
    return "data plane version " + std::string(data_plane) + " is incompatible with control plane version " +
           std::string(control_plane) + accepted;
  }
  if (dp->minor > cp->minor) {
    return "data plane version " + std::string(data_plane) + " is incompatible with older control plane version " +
           std::string(control_plane);
  }
  return {};
}

}  // namespace portico::cluster
