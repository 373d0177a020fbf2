// gRPC over HTTP/2 as the gateway sees it: which requests are gRPC, the status codes of the
// gateway's own answers to them, and the grpc-timeout header.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portico::http {

// Kong's test (a case-sensitive prefix): application/grpc, application/grpc+proto, ...
bool is_grpc_content_type(std::string_view content_type);

// The grpc-status a gateway answer with this HTTP status stands for (Kong's table: 401
// UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED, ...; but 502 is UNAVAILABLE, as gRPC's own mapping has it).
int grpc_status_for_http(int http_status);
// The other way: the HTTP status of a gRPC status (google.rpc.Code's mapping, as grpc-gateway's
// runtime has it: NOT_FOUND 404, UNAVAILABLE 503, UNIMPLEMENTED 501, ...; unknown codes 500).
int http_status_for_grpc(int grpc_status);
// The status's canonical name ("Unauthenticated"), for an answer without a message of its own.
std::string_view grpc_status_name(int grpc_status);

// grpc-message's encoding (gRPC's PROTOCOL-HTTP2): bytes outside printable ASCII, and '%',
// as %XX.
std::string grpc_percent_encode(std::string_view message);

// A gateway answer to a gRPC request: "trailers-only" (the status in the one HEADERS frame,
// no body), keeping the HTTP status as Kong does (gRPC clients prefer grpc-status to it).
// `extra_headers`: more "Name: value\r\n" lines (WWW-Authenticate, rate-limit fields).
std::string grpc_error_response(int http_status, std::string_view message, std::string_view extra_headers = {});
// The same with a grpc-status of the caller's choosing.
std::string grpc_status_response(int http_status, int grpc_status, std::string_view message,
                                 std::string_view extra_headers = {});

// grpc-timeout ("1-8 digits" then H, M, S, m, u or n): the duration, or nothing when absent
// or malformed (then ignored, as gRPC servers do).
std::optional<std::chrono::milliseconds> parse_grpc_timeout(std::string_view value);

}  // namespace portico::http
