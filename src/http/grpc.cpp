#include "http/grpc.hpp"

#include "http/params.hpp"
#include "http/status.hpp"

namespace portico::http {

bool is_grpc_content_type(std::string_view content_type) { return content_type.starts_with("application/grpc"); }

int grpc_status_for_http(int s) {
  switch (s) {
    case 400: return 3;   // INVALID_ARGUMENT
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 5;   // NOT_FOUND
    case 409: return 6;   // ALREADY_EXISTS
    case 429: return 8;   // RESOURCE_EXHAUSTED
    case 499: return 1;   // CANCELLED
    case 500: return 13;  // INTERNAL
    case 501: return 12;  // UNIMPLEMENTED
    // (Kong answers 13 for a 502; gRPC's own mapping, and Envoy, say UNAVAILABLE: the
    // service could not be reached, and a client may try again.)
    case 502: return 14;  // UNAVAILABLE
    case 503: return 14;  // UNAVAILABLE
    case 504: return 4;   // DEADLINE_EXCEEDED
    default: break;
  }
  if (s >= 500 && s < 600) return 13;
  if (s >= 400 && s < 500) return 3;
  if (s >= 200 && s < 300) return 0;
  return 2;  // UNKNOWN
}

int http_status_for_grpc(int code) {
  static constexpr int kStatus[] = {200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401};
  return code >= 0 && code < static_cast<int>(std::size(kStatus)) ? kStatus[code] : 500;
}

std::string_view grpc_status_name(int code) {
  static constexpr std::string_view kNames[] = {
      "OK",           "Canceled",          "Unknown",         "InvalidArgument", "DeadlineExceeded", "NotFound",
      "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",      "OutOfRange",
      "Unimplemented", "Internal",         "Unavailable",     "DataLoss",        "Unauthenticated"};
  return code >= 0 && code < static_cast<int>(std::size(kNames)) ? kNames[code] : "Unknown";
}

std::string grpc_percent_encode(std::string_view message) {
  return percent_encode_where(message, [](unsigned char c) { return c >= 0x20 && c <= 0x7e && c != '%'; });
}

std::string grpc_error_response(int http_status, std::string_view message, std::string_view extra_headers) {
  return grpc_status_response(http_status, grpc_status_for_http(http_status), message, extra_headers);
}

std::string grpc_status_response(int http_status, int code, std::string_view message, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(http_status) + " " + std::string(reason_phrase(http_status)) + "\r\n";
  out += "Content-Type: application/grpc\r\ngrpc-status: " + std::to_string(code) + "\r\ngrpc-message: ";
  out += grpc_percent_encode(message.empty() ? grpc_status_name(code) : message);
  out += "\r\nContent-Length: 0\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::optional<std::chrono::milliseconds> parse_grpc_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  using std::chrono::milliseconds;
  switch (value.back()) {
    case 'H': return milliseconds(n * 3600000);
    case 'M': return milliseconds(n * 60000);
    case 'S': return milliseconds(n * 1000);
    case 'm': return milliseconds(n);
    case 'u': return milliseconds((n + 999) / 1000);  // (rounded up: a deadline never shortens to 0)
    case 'n': return milliseconds((n + 999999) / 1000000);
    default: return std::nullopt;
  }
}

}  // namespace portico::http
