// Which data plane versions a control plane serves (Kong's rule, clustering/compat): the same
// major version, and a minor version not newer than the control plane's.
#pragma once

#include <string>
#include <string_view>

namespace portico::cluster {

// "" when a data plane at `data_plane` may be served by a control plane at `control_plane`;
// else why not, in Kong's words.
std::string version_problem(std::string_view data_plane, std::string_view control_plane);

}  // namespace portico::cluster
