// One Admin API request and its answer, as the handlers see them (the listener in
// admin_server.cpp reads the request whole, body included, before handling it).
#pragma once

#include <string>
#include <string_view>

namespace portico::admin {

struct Request {
  std::string_view method, path, query;
  std::string_view content_type;  // of the body, if any
  std::string_view body;
  std::string_view if_none_match = {};  // the validator a browser revalidates a file with
};

struct Reply {
  int status = 200;
  std::string body;  // JSON (unless content_type says otherwise); empty for 204 and 304
  std::string content_type = {};  // empty: application/json
  std::string headers = {};       // more header lines, each "Name: value\r\n"
};

}  // namespace portico::admin
