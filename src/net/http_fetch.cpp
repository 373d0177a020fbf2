#include "net/http_fetch.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>

#include "crypto/base64.hpp"
#include "http/chunked.hpp"
#include "http/h1_parser.hpp"

namespace portico::net {
namespace asio = boost::asio;
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::ssl::context& tls_context(bool verify) {
  // Built once per process (the control thread is the only user).
  static auto make = [](bool v) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    ctx->set_verify_mode(v ? asio::ssl::verify_peer : asio::ssl::verify_none, ec);
    return ctx;
  };
  static auto verifying = make(true);
  static auto trusting = make(false);
  return verify ? *verifying : *trusting;
}

// Reads until the peer closes (or the size cap); false when the cap is exceeded.
template <typename Stream>
asio::awaitable<bool> read_all(Stream& stream, std::string& out, std::size_t cap) {
  char chunk[8192];
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), use_tuple);
    out.append(chunk, n);
    if (out.size() > cap) co_return false;
    if (ec) co_return true;  // EOF (or a TLS short read): what arrived is parsed below
  }
}

// Splits a complete response into status and decoded body.
FetchResult parse(const std::string& raw, std::size_t cap) {
  FetchResult r;
  http::ResponseHead head;
  http::ParserLimits limits;
  auto outcome = http::parse_response_head(raw, limits, false, head);
  if (outcome.state != http::ParseState::complete) {
    r.error = outcome.state == http::ParseState::error ? "invalid response: " + std::string(outcome.message)
                                                       : "connection closed before a complete response";
    return r;
  }
  std::string_view rest(raw.data() + head.head_size, raw.size() - head.head_size);
  switch (head.framing) {
    case http::BodyFraming::content_length:
      if (rest.size() < head.content_length) {
        r.error = "response body cut short";
        return r;
      }
      r.body.assign(rest.substr(0, head.content_length));
      break;
    case http::BodyFraming::chunked: {
      http::ChunkedDecoder decoder;
      while (!decoder.done()) {
        auto step = decoder.next(rest);
        if (step.status == http::ChunkedDecoder::Status::error || step.status == http::ChunkedDecoder::Status::need_more) {
          r.error = "invalid chunked body";
          return r;
        }
        r.body.append(step.data);
        rest.remove_prefix(step.consumed);
        if (r.body.size() > cap) {
          r.error = "response body too large";
          return r;
        }
      }
      break;
    }
    default: r.body.assign(rest); break;
  }
  r.status = head.status;
  return r;
}

}  // namespace

asio::awaitable<FetchResult> http_get(asio::io_context& io, std::string url, FetchOptions options) {
  OutgoingRequest request;
  request.url = std::move(url);
  request.header_lines = "Accept: application/json\r\n";
  co_return co_await http_send(io, std::move(request), options);
}

asio::awaitable<FetchResult> http_send(asio::io_context& io, OutgoingRequest outgoing, FetchOptions options) {
  FetchResult result;
  const std::string& url = outgoing.url;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    result.error = "not an http(s) URL: " + url;
    co_return result;
  }
  bool tls = parsed->scheme() == "https";
  std::string host(parsed->encoded_host());
  std::string port = parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80");
  std::string target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
  std::string authority(parsed->encoded_host_and_port());
  std::string request = outgoing.method + " " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n" +
                        outgoing.header_lines + "User-Agent: portico\r\nConnection: close\r\n";
  if (parsed->has_userinfo()) {
    request += "Authorization: Basic " + crypto::base64_encode(std::string(parsed->userinfo())) + "\r\n";
  }
  if (outgoing.method != "GET" || !outgoing.body.empty()) {
    request += "Content-Length: " + std::to_string(outgoing.body.size()) + "\r\n";
  }
  request += "\r\n";
  request += outgoing.body;

  // One deadline for everything: it closes the socket, which fails whatever is pending.
  struct Shared {
    explicit Shared(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    bool timed_out = false;
  };
  auto shared = std::make_shared<Shared>(io);
  asio::steady_timer deadline(io, options.timeout);
  deadline.async_wait([shared](const boost::system::error_code& ec) {
    if (ec) return;
    shared->timed_out = true;
    boost::system::error_code ignored;
    shared->socket.close(ignored);
  });
  auto fail = [&](std::string why) {
    deadline.cancel();
    result.error = shared->timed_out ? "timed out" : std::move(why);
    return result;
  };

  if (options.addresses.empty()) {
    asio::ip::tcp::resolver resolver(io);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_tuple);
    if (rec) co_return fail("cannot resolve " + host + ": " + rec.message());
    options.addresses.assign(endpoints.begin(), endpoints.end());
  }
  auto [cec, connected] = co_await asio::async_connect(shared->socket, options.addresses, use_tuple);
  if (cec) co_return fail("cannot connect to " + host + ":" + port + ": " + cec.message());

  std::string raw;
  bool within_cap = false;
  if (tls) {
    asio::ssl::stream<asio::ip::tcp::socket&> stream(shared->socket, tls_context(options.verify_tls));
    boost::system::error_code address_ec;
    asio::ip::make_address(host, address_ec);
    if (address_ec) SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    if (options.verify_tls) stream.set_verify_callback(asio::ssl::host_name_verification(host));
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) co_return fail("TLS handshake with " + host + " failed: " + hec.message());
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
    if (wec) co_return fail("write failed: " + wec.message());
    within_cap = co_await read_all(stream, raw, options.max_body + 65536);
  } else {
    auto [wec, wn] = co_await asio::async_write(shared->socket, asio::buffer(request), use_tuple);
    if (wec) co_return fail("write failed: " + wec.message());
    within_cap = co_await read_all(shared->socket, raw, options.max_body + 65536);
  }
  if (shared->timed_out) co_return fail("timed out");
  deadline.cancel();
  if (!within_cap) {
    result.error = "response too large";
    co_return result;
  }
  co_return parse(raw, options.max_body);
}

}  // namespace portico::net
