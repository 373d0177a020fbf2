#include "http/status.hpp"

#include <cstdio>

namespace portico::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: return "";  // the reason phrase may be empty (RFC 9112 4): "HTTP/1.1 599 "
  }
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

std::string json_response(int status, std::string_view json_body, bool close, std::string_view extra_headers,
                          bool head_only) {
  std::string out;
  out.reserve(200 + extra_headers.size() + json_body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  // 204 and 304 have no body, and so no Content-Length (RFC 9110 8.6).
  bool bodiless = status == 204 || status == 304;
  if (!bodiless) {
    out += "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ";
    out += std::to_string(json_body.size());
  }
  out += "\r\nServer: portico/" PORTICO_VERSION "\r\n";
  out += extra_headers;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only && !bodiless) out += json_body;
  return out;
}

std::string stored_response_head(int status, std::string_view header_lines, std::string_view extra_lines,
                                 std::size_t body_size, std::string_view connection) {
  std::string out;
  out.reserve(64 + header_lines.size() + extra_lines.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  out += header_lines;
  out += extra_lines;
  if (status != 204 && status != 304) {
    out += "Content-Length: ";
    out += std::to_string(body_size);
    out += "\r\n";
  }
  if (!connection.empty()) out.append("Connection: ").append(connection).append("\r\n");
  out += "\r\n";
  return out;
}

std::string json_error_response(int status, std::string_view message, bool close, std::string_view extra_headers) {
  std::string body = "{\"message\":\"";
  append_json_escaped(body, message);
  body += "\"}";
  return json_response(status, body, close, extra_headers);
}

}  // namespace portico::http
