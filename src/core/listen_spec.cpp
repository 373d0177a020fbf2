#include "core/listen_spec.hpp"

#include <sstream>

#include "config/validators.hpp"

namespace portico {

bool parse_listen(std::string_view text, boost::asio::ip::tcp::endpoint& out, std::string& error) {
  std::string s(text);
  if (!s.empty() && s[0] == ':') s = "0.0.0.0" + s;
  std::size_t colon = s.rfind(':');
  if (colon == std::string::npos) {
    error = "listen address '" + std::string(text) + "' must be HOST:PORT";
    return false;
  }
  std::string host = s.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  long long port = 0;
  if (!config::parse_integer(s.substr(colon + 1), port) || port < 0 || port > 65535) {
    error = "invalid port in listen address '" + std::string(text) + "'";
    return false;
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    error = "invalid address in listen address '" + std::string(text) + "' (use an IP address)";
    return false;
  }
  out = boost::asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
  return true;
}

bool parse_listen_spec(std::string_view text, ListenSpec& out, std::string& error) {
  std::istringstream words{std::string(text)};
  std::string address;
  if (!(words >> address)) {
    error = "empty listen address";
    return false;
  }
  if (!parse_listen(address, out.endpoint, error)) return false;
  for (std::string flag; words >> flag;) {
    if (flag == "ssl") {
      out.ssl = true;
    } else if (flag == "http2") {
      out.http2 = true;
    } else if (flag.rfind("backlog=", 0) == 0) {
      long long n = 0;
      if (!config::parse_integer(flag.substr(8), n) || n < 1 || n > 65535) {
        error = "invalid " + flag + " in listen address '" + std::string(text) + "' (1 to 65535)";
        return false;
      }
      out.backlog = static_cast<int>(n);
    } else if (flag == "reuseport" || flag == "deferred" || flag == "bind") {
      // (see the header)
    } else if (flag == "proxy_protocol") {
      error = "'" + flag + "' in listen address '" + std::string(text) + "' is not supported yet";
      return false;
    } else {
      error = "unknown flag '" + flag + "' in listen address '" + std::string(text) +
              "' (ssl, http2, backlog=N, reuseport, deferred, bind)";
      return false;
    }
  }
  return true;
}

}  // namespace portico
