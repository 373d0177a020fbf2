// Relaying a response whose body plugins rewrite (the response_body phase): the body is read
// whole, up to the plugins' limit, handed to them, and sent with its new length. A body above
// the limit is never rewritten in part: it is refused (502), or, when every plugin that wanted
// it lets it pass, sent on untouched (what was read first, then the rest, streamed).
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/h1_parser.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/exchange.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kTooLarge = "upstream response too large for the response_body plugins";

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char size[http::kChunkSizeLineMax];
  out.append(size, http::write_chunk_size_line(data.size(), size)).append(data).append("\r\n");
}
}  // namespace

std::uint64_t DownstreamConnection::plugin_body_limit(const plugin::BodyNeed& need) const {
  if (need.max_bytes != 0) return need.max_bytes;
  const auto& options = worker_.options();
  return options.max_body_size != 0 ? options.max_body_size : kMaxPluginBody;
}

bool DownstreamConnection::streams_untouched(const Exchange& ex, const plugin::BodyNeed& need) const {
  return need.pass_when_larger && ex.response->framing == http::BodyFraming::content_length &&
         ex.response->content_length > plugin_body_limit(need);
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::relay_buffered(Exchange& ex,
                                                                                 std::unique_ptr<UpstreamConnection>& conn,
                                                                                 plugin::BodyNeed need) {
  const auto& options = worker_.options();
  const auto& svc = *ex.service->config;
  const std::uint64_t limit = plugin_body_limit(need);
  if (ex.response->framing == http::BodyFraming::content_length && ex.response->content_length > limit) {
    // Declared larger than the plugins may read (and not to be passed on): not read at all.
    co_return co_await send_error(&ex, 502, kTooLarge, true);
  }
  // The head's fields point into the connection buffer, which reading the body reuses:
  // keep a copy and parse it again afterwards.
  std::string head(conn->buffer.readable().substr(0, ex.response->head_size));
  const http::BodyFraming framing = ex.response->framing;
  const std::uint64_t content_length = ex.response->content_length;
  const bool is_head = request_.method == "HEAD";
  conn->buffer.consume(ex.response->head_size);
  Side source = conn->side(ex.within_deadline(svc.read_timeout_ms), ex.within_deadline(svc.write_timeout_ms));
  PumpSpec spec;
  spec.framing = framing;
  spec.content_length = content_length;
  spec.max_body = limit;
  http::ChunkedDecoder decoder;
  if (conn->h2) decoder.keep_trailers();  // a gRPC answer's status, for the plugins
  spec.decoder = &decoder;
  std::string body;
  PumpResult got = co_await collect_body(source, spec, body);
  const bool larger = got.failure == PumpFailure::too_large;
  if (!got.ok() && !(larger && need.pass_when_larger)) {
    if (larger) co_return co_await send_error(&ex, 502, kTooLarge, true);
    warn_upstream(*conn, "broke off the response body", "after " + std::to_string(got.body_bytes) + " body bytes");
    bool timeout = got.failure == PumpFailure::source_timeout;
    co_return co_await send_error(&ex, timeout ? 504 : 502, timeout ? kUpstreamTimeout : kUpstreamInvalid, true);
  }
  // The head parsed again first: the plugins read it (ctx.upstream_response()) with the body.
  http::parse_response_head(head, options.limits, is_head, *ex.response);
  ex.plugins->set_upstream_response(ex.response);
  ex.plugins->set_upstream_trailers(decoder.trailers());
  Side client = client_side(options.client_body_timeout, options.client_body_timeout);
  bool chunk_out = false;

  if (larger) {
    // Too large to rewrite, allowed through: what was read, then the rest as it comes.
    // With the compression plugin, what was read and the rest go through one compressor.
    bool keep_alive = build_response_head(ex, *conn, chunk_out, std::nullopt, /*consume_head=*/false);
    std::unique_ptr<http::Compressor> compressor;
    if (ex.compressing) {
      compressor = http::make_compressor(ex.plugins->response_coding(), ex.plugins->response_coding_level());
      std::string encoded;
      compressor->feed(body, encoded);
      body = std::move(encoded);
    }
    std::string start(response_.view());
    if (chunk_out) append_chunk(start, body);
    else start.append(body);
    PumpSpec rest;
    rest.framing = framing;  // chunked or until_close: a declared length above the limit never gets here
    rest.chunk_output = chunk_out;
    rest.prefix = start;
    rest.decoder = &decoder;
    rest.transform = compressor.get();
    count_response_status(ex.response->status);
    PumpResult sent = co_await pump_body(source, client, rest);
    ex.status = ex.response->status;
    ex.bytes_sent = sent.wrote_anything ? start.size() + sent.body_bytes_out : 0;
    ex.body_bytes_sent = sent.wrote_anything ? body.size() + sent.body_bytes_out : 0;
    if (!sent.ok()) {
      if (sent.failure != PumpFailure::sink_failed && sent.failure != PumpFailure::sink_timeout) {
        warn_upstream(*conn, "broke off the response body", "after " + std::to_string(sent.body_bytes) + " more body bytes");
      }
      co_return Next::close;
    }
    co_return keep_alive && framing != http::BodyFraming::until_close ? Next::keep_alive : Next::close;
  }

  plugin::run_response_body(*ex.plugins, body);
  auto give_back = [&] {
    if (ex.response->keep_alive && framing != http::BodyFraming::until_close && conn->buffer.empty()) {
      ++conn->requests;
      conn->reused = false;
      worker_.upstream_pool().give(std::move(conn));
    }
  };
  if (ex.plugins->reply_status() != 0) {
    // A plugin answered instead (a body it could not handle): the service's answer is dropped.
    give_back();
    co_return co_await send_plugin_reply(ex);
  }
  bool keep_alive = build_response_head(ex, *conn, chunk_out, body.size(), /*consume_head=*/false);
  if (ex.compressing) {
    // The compression plugin after a response_body plugin: the rewritten body encoded whole,
    // sent as one chunk (or close-delimited to an HTTP/1.0 client), as build_response_head said.
    auto compressor = http::make_compressor(ex.plugins->response_coding(), ex.plugins->response_coding_level(), body.size());
    std::string encoded;
    compressor->finish(body, encoded);
    body.clear();
    if (chunk_out) {
      append_chunk(body, encoded);
      body += "0\r\n\r\n";
    } else {
      body = std::move(encoded);
    }
  } else if (ex.plugins->capture_limit() > 0 && body.size() <= ex.plugins->capture_limit()) {
    ex.plugins->capture_buffer() = body;  // what the client gets, after the response_body plugins
    plugin::run_body_captured(*ex.plugins);
  }
  count_response_status(ex.response->status);
  std::array<asio::const_buffer, 2> parts{asio::buffer(response_.view().data(), response_.view().size()),
                                          asio::buffer(body.data(), body.size())};
  auto ec = co_await write_all(client, parts);
  ex.status = ex.response->status;
  ex.bytes_sent = ec ? 0 : response_.view().size() + body.size();
  ex.body_bytes_sent = ec ? 0 : body.size();
  if (ec) co_return Next::close;
  give_back();
  co_return keep_alive ? Next::keep_alive : Next::close;
}

}  // namespace portico::proxy
