// Proxying one routed request: admission (circuit breaker, upstream limits), attempts
// with retries across targets, passive health, then relaying the response.
// See docs/architecture.md "Upstreams" for the rules written out.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/grpc.hpp"
#include "http/h1_parser.hpp"
#include "http/status.hpp"
#include "proxy/body_pump.hpp"
#include "proxy/exchange.hpp"
#include "proxy/h2_stream.hpp"
#include "proxy/hash_input.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_attempt.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

int DownstreamConnection::failure_status(Attempt failure) { return proxy::failure_status(failure); }

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::proxy_request(Exchange& ex) {
  const router::CompiledRoute& route = *ex.match.route;
  const config::Snapshot& snap = *ex.snapshot;
  if (route.service_index == config::RouteConfig::kNoService) co_return co_await serve_without_service(ex);
  ex.service = &snap.services[route.service_index];
  const config::ServiceConfig& svc = *ex.service->config;
  const Balancer& balancer = *snap.balancers[ex.service->balancer_index];
  const config::UpstreamRuntime* upstream = ex.service->upstream;
  bool has_body = request_.framing != http::BodyFraming::none;

  if (ProtocolRefusal refusal = protocol_refusal(route); refusal != ProtocolRefusal::none) {
    co_return co_await send_protocol_refusal(ex, refusal, has_body);
  }
  // Plugins' access phase (authentication, rate limits, circuit breaker...): any may answer.
  if (!snap.route_chains[route.route_index].empty()) {
    plugin::Access access = start_plugins(ex);
    if (access == plugin::Access::suspend) access = co_await plugin::finish_access(*ex.plugins);
    if (access == plugin::Access::replied) {
      plugin::run_upstream_error_over_reply(*ex.plugins);  // an open breaker's 503 may be a stale entry
      co_return co_await send_plugin_reply(ex);
    }
  }
  // After the access phase, as Kong: a caller without credentials gets its 401 even when the
  // service has no target.
  if (balancer.endpoints().empty()) {
    if (plugins_answer_failure(ex, 503)) co_return co_await send_plugin_reply(ex);
    co_return co_await send_error(&ex, 503, ex.service->resolve_error, has_body);
  }
  if (upstream != nullptr && upstream->config->max_requests > 0) {
    if (upstream->state->requests.load(std::memory_order_relaxed) >= upstream->config->max_requests) {
      worker_.stats().upstream_overflows.add();
      ex.note_shed();
      co_return co_await send_error(&ex, 503, "upstream is over its max_requests limit", has_body);
    }
    ex.upstream_request.hold(upstream->state->requests);
  }
  deposit_retry_budget(*ex.service);
  if (svc.request_timeout_ms > 0) ex.deadline = ex.started + std::chrono::milliseconds(svc.request_timeout_ms);
  if (svc.uses_http2()) {
    // The client's gRPC deadline bounds the call as the service's timeouts do (whichever is
    // sooner); past it the client gets DEADLINE_EXCEEDED.
    if (auto timeout = http::parse_grpc_timeout(request_.find("grpc-timeout"))) {
      auto until = ex.started + *timeout;
      if (ex.deadline == Clock::time_point{} || until < ex.deadline) ex.deadline = until;
    }
  }
  prepare_upstream_request(ex);

  std::unique_ptr<UpstreamConnection> conn;
  int retries_done = 0;
  bool stale_retry_used = false;
  bool force_fresh = false;
  for (;;) {
    if (!force_fresh) {
      const Endpoint* ep = worker_.pick_endpoint(snap, ex.service->balancer_index, ex.hash, ex.tried_span());
      if (ep == nullptr) {
        ex.note_upstream(503);
        if (plugins_answer_failure(ex, 503)) co_return co_await send_plugin_reply(ex);
        co_return co_await send_error(&ex, 503, kNoPeer, has_body);
      }
      ex.begin_try();  // before ex.endpoint changes: the previous try is logged with its address
      ex.endpoint = ep;
      ex.remember_tried(ep->index);
      if (balancer.tracks_in_flight()) ex.in_flight.hold(ep->health->in_flight);
    }
    Attempt outcome = co_await attempt(ex, force_fresh, conn);
    force_fresh = false;
    if (outcome == Attempt::response) ex.try_status = ex.response->status;
    else if (outcome != Attempt::answered) ex.try_status = failure_status(outcome);
    if (outcome == Attempt::answered) co_return ex.answer;
    // (Only a failure, or an answer gRPC retries, may be retried: a good answer never waits for the body.)
    if (ex.concurrent_body && !svc.grpc_retry_on.empty() &&
        (outcome != Attempt::response || grpc_status_retried(svc, *ex.response))) {
      co_await keep_body_for_retry(ex);
    }
    if (outcome == Attempt::response) {
      int status = ex.response->status;
      report_health(ex, outcome, status);
      bool retry_status = std::find(svc.retry_on_statuses.begin(), svc.retry_on_statuses.end(), status) !=
                          svc.retry_on_statuses.end() ||
                          grpc_status_retried(svc, *ex.response);
      if (!retry_status || !may_retry(ex, outcome, retries_done)) {
        ex.note_upstream(status);
        if (plugin::is_upstream_error_status(status) && plugins_answer_failure(ex, status)) {
          conn.reset();  // the error response is dropped with its connection
          co_return co_await send_plugin_reply(ex);
        }
        break;
      }
      conn.reset();  // the response is dropped with its connection
    } else {
      // A pooled connection the upstream had closed meanwhile: once, transparently, on a
      // fresh connection to the same address (not a retry, not the target's fault).
      bool stale = ex.attempt_reused && !ex.body_consumed && is_idempotent(sent_method(ex)) &&
                   (outcome == Attempt::no_response || outcome == Attempt::write_failed);
      // An HTTP/2 service that refused the stream unprocessed (REFUSED_STREAM, a GOAWAY)
      // did nothing with it, whatever the method (when the body can be sent again).
      if (conn && conn->h2 && conn->h2->refused() && (!ex.body_consumed || ex.body_buffered) &&
          outcome == Attempt::no_response) {
        stale = true;
      }
      if (stale && !stale_retry_used) {
        stale_retry_used = true;
        force_fresh = true;
        continue;
      }
      report_health(ex, outcome, 0);
      if (!may_retry(ex, outcome, retries_done)) {
        if (outcome == Attempt::overflow) {
          ex.note_shed();
          co_return co_await answer_failure(ex, outcome);
        }
        bool connection_error = outcome == Attempt::connect_error || outcome == Attempt::no_response ||
                                outcome == Attempt::write_failed;
        ex.note_upstream(failure_status(outcome), failure_status(outcome) == 504, connection_error);
        co_return co_await answer_failure(ex, outcome);
      }
    }
    ++retries_done;
    worker_.stats().upstream_retries.add();
    co_await back_off(ex, retries_done);
    ex.in_flight.release();
  }

  if (ex.response->status == 101) co_return co_await relay_upgraded(ex, conn);
  // Plugins that rewrite response bodies get the whole body first, when one needs this one.
  if (ex.plugins && ex.plugins->active_chain->uses(plugin::kResponseBody)) {
    ex.plugins->set_upstream_response(ex.response);
    plugin::BodyNeed need = plugin::response_body_need(*ex.plugins);
    if (need.wanted && !streams_untouched(ex, need)) co_return co_await relay_buffered(ex, conn, need);
  }

  // Relay the response: head rebuilt for the client, body streamed.
  const auto& resp = *ex.response;
  bool chunk_out = false;
  bool keep_alive = build_response_head(ex, *conn, chunk_out);
  const auto& options = worker_.options();
  Side client = client_side(options.client_body_timeout, options.client_body_timeout);
  Side source = conn->side(ex.within_deadline(svc.read_timeout_ms), ex.within_deadline(svc.write_timeout_ms));
  PumpSpec spec;
  spec.framing = resp.framing;
  spec.forward_trailers = conn->h2 != nullptr && !ex.transforming;  // (gRPC's status comes in them)
  spec.content_length = resp.content_length;
  spec.chunk_output = chunk_out;
  spec.prefix = response_.view();
  std::unique_ptr<http::Compressor> compressor;
  if (ex.compressing) {
    compressor = http::make_compressor(ex.plugins->response_coding(), ex.plugins->response_coding_level(),
                                       resp.framing == http::BodyFraming::content_length && !ex.transforming
                                           ? resp.content_length
                                           : 0);
    spec.transform = compressor.get();
  }
  // A plugin's rewrite (grpc-gateway's transcoder) first, then the compression.
  std::optional<http::ChainedTransform> both;
  if (ex.transforming) {
    http::BodyTransform& rewrite = *ex.plugins->response_transform();
    spec.transform = compressor ? &both.emplace(rewrite, *compressor) : &rewrite;
  }
  // (A cache keeps what the client gets: an encoded answer's unencoded bytes are not kept.)
  if (ex.plugins && ex.plugins->capture_limit() > 0 && !ex.compressing && !ex.transforming) {
    spec.tee = &ex.plugins->capture_buffer();
    spec.tee_max = ex.plugins->capture_limit();
    spec.tee_complete = [&ex] { plugin::run_body_captured(*ex.plugins); };
  }
  PumpResult got;
  std::size_t written = 0;
  count_response_status(resp.status);
  if (auto fast = send_buffered_now(source, client, spec, written, got); fast != FastSend::done) {
    got = co_await send_body_rest(source, client, spec, fast, written);
  }
  ex.status = resp.status;
  ex.bytes_sent = got.wrote_anything ? response_.view().size() + got.body_bytes_out : 0;
  ex.body_bytes_sent = got.wrote_anything ? got.body_bytes_out : 0;
  if (!got.ok()) {
    bool upstream_side = got.failure == PumpFailure::source_closed || got.failure == PumpFailure::source_error ||
                         got.failure == PumpFailure::source_timeout || got.failure == PumpFailure::source_malformed;
    if (upstream_side) {
      warn_upstream(*conn, "broke off the response body", "after " + std::to_string(got.body_bytes) + " body bytes");
      if (!got.wrote_anything) {
        co_return co_await send_error(&ex, got.failure == PumpFailure::source_timeout ? 504 : 502,
                                      got.failure == PumpFailure::source_timeout ? kUpstreamTimeout : kUpstreamInvalid, true);
      }
    }
    co_return Next::close;
  }
  if (resp.keep_alive && resp.framing != http::BodyFraming::until_close && conn->buffer.empty()) {
    ++conn->requests;
    conn->reused = false;
    worker_.upstream_pool().give(std::move(conn));
  }
  co_return keep_alive ? Next::keep_alive : Next::close;
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::serve_without_service(Exchange& ex) {
  const router::CompiledRoute& route = *ex.match.route;
  bool has_body = request_.framing != http::BodyFraming::none;
  if (ProtocolRefusal refusal = protocol_refusal(route); refusal != ProtocolRefusal::none) {
    co_return co_await send_protocol_refusal(ex, refusal, has_body);
  }
  if (!ex.snapshot->route_chains[route.route_index].empty()) {
    plugin::Access access = start_plugins(ex);
    if (access == plugin::Access::suspend) access = co_await plugin::finish_access(*ex.plugins);
    if (access == plugin::Access::replied) co_return co_await send_plugin_reply(ex);
  }
  // Kong's answer for a service-less route no plugin answered.
  co_return co_await send_error(&ex, 503, "no Service found with those values", has_body);
}

bool DownstreamConnection::plugins_answer_failure(Exchange& ex, int status) {
  if (!ex.plugins) return false;
  // A request body streamed upstream reused the buffer the request head's views point into:
  // no plugin may look at the request any more (one that read the body has a fresh head).
  if (request_.framing != http::BodyFraming::none && ex.body_consumed && !ex.plugins->request_body_read()) return false;
  return plugin::run_upstream_error(*ex.plugins, status);
}

std::string_view DownstreamConnection::sent_method(const Exchange& ex) const {
  return ex.plugins && !ex.plugins->upstream_method().empty() ? ex.plugins->upstream_method() : request_.method;
}

void DownstreamConnection::prepare_upstream_request(Exchange& ex) {
  const router::CompiledRoute& route = *ex.match.route;
  const config::ServiceConfig& svc = *ex.service->config;
  const config::UpstreamRuntime* upstream = ex.service->upstream;
  const Balancer& balancer = *ex.snapshot->balancers[ex.service->balancer_index];
  bool has_body = request_.framing != http::BodyFraming::none;
  if (balancer.algorithm() == Algorithm::consistent_hashing && upstream != nullptr) {
    HashInputs in{request_ip_, ex.path, {}, &request_, &ex.match};
    HashKey key = balancing_key(*upstream->config, in);
    ex.hash = key.key.empty() ? 0 : hash_key(key.key);
    if (!key.minted_cookie.empty()) {
      ex.set_cookie = "Set-Cookie: " + upstream->config->hash_on_cookie + "=" + key.minted_cookie +
                      "; Path=" + upstream->config->hash_on_cookie_path + "\r\n";
    }
  }

  std::string_view query = request_.query;
  if (ex.plugins) {
    plugin::run_upstream_request(*ex.plugins);
    if (ex.plugins->query_replaced()) query = ex.plugins->upstream_query();
  }
  if (ex.plugins && !ex.plugins->upstream_path().empty()) {
    upstream_target_.assign(ex.plugins->upstream_path());  // a plugin's (Kong's set_path: replaces the service path too)
  } else if (svc.uses_http2()) {
    upstream_target_.assign(ex.path);  // Kong's grpc_pass: the client's own path, never stripped
  } else {
    router::build_upstream_path(upstream_target_, svc.path, ex.path, ex.match.matched_length, route.strip_path,
                                route.path_handling_v1);
  }
  if (!query.empty()) upstream_target_.append("?").append(query);
  ex.upstream_target = upstream_target_;
  ex.response = &response_head_;
  bool body_already_read = ex.plugins && ex.plugins->request_body_read();
  if (has_body && !body_already_read && (worker_.access_log().enabled() || ex.plugins || !svc.grpc_retry_on.empty())) {
    // Streaming the body reuses the buffer the head's views point into; the access log and
    // the plugins' log phase read the head after that, and a retry builds its head again.
    keep_request_head(ex.saved_head);
  }

}

void DownstreamConnection::build_request_head(const Exchange& ex) {
  const router::CompiledRoute& route = *ex.match.route;
  ForwardingInfo info;
  info.method = sent_method(ex);
  info.upstream_target = ex.upstream_target;
  // preserve_host keeps the client's Host; an HTTP/1.0 client may have sent none: the service's then.
  info.host_header = route.preserve_host && !request_.host.empty() ? request_.host : std::string_view(ex.endpoint->host_header);
  info.client_ip = peer_.ip;
  info.real_ip = request_ip_;
  info.scheme = over_tls() ? "https" : "http";
  info.server_port = listener_->port_text;
  if (route.strip_path && ex.match.matched_length > 0) info.forwarded_prefix = ex.path.substr(0, ex.match.matched_length);
  info.forwarded_host = http::host_without_port(request_.host);
  info.trusted_peer = peer_.trusted;
  if (worker_.options().request_id_upstream && !worker_.options().request_id_header.empty()) {
    info.request_id_header = worker_.options().request_id_header;
    info.request_id = request_id_of(ex);
  }
  info.framing = request_.framing;
  info.content_length = request_.content_length;
  info.websocket = websocket_requested();
  if (ex.plugins && ex.plugins->request_body_read() &&
      (request_.framing != http::BodyFraming::none || !ex.plugins->request_body().empty())) {
    info.framing = http::BodyFraming::content_length;  // read (and maybe rewritten, or made) by a plugin
    info.content_length = ex.plugins->request_body().size();
  }
  if (ex.body_buffered) {
    info.framing = http::BodyFraming::content_length;
    info.content_length = ex.replay_body.size();
  }
  if (ex.plugins && !ex.plugins->upstream_headers().empty()) info.edits = &ex.plugins->upstream_headers();
  build_upstream_request(head_, request_, info);
}

bool DownstreamConnection::grpc_status_retried(const config::ServiceConfig& svc, const http::ResponseHead& response) {
  if (svc.grpc_retry_on.empty()) return false;
  bool trailers_only = response.framing == http::BodyFraming::none ||
                       (response.framing == http::BodyFraming::content_length && response.content_length == 0);
  if (!trailers_only) return false;  // (an answer with messages has begun: it is the answer)
  std::string_view code = response.find("grpc-status");
  std::string_view name = code == "1"    ? "cancelled"
                          : code == "4"  ? "deadline-exceeded"
                          : code == "8"  ? "resource-exhausted"
                          : code == "13" ? "internal"
                          : code == "14" ? "unavailable"
                                         : "";
  return !name.empty() && std::find(svc.grpc_retry_on.begin(), svc.grpc_retry_on.end(), name) != svc.grpc_retry_on.end();
}

asio::awaitable<void> DownstreamConnection::keep_body_for_retry(Exchange& ex) {
  // The body was sent alongside the answer and a copy kept: once the client has sent all of
  // it (a unary call's usually has), the pump ends at once and its copy can be sent again.
  if (stream_ == nullptr || !stream_->request_complete()) co_return;
  co_await ex.concurrent_body->settle();
  std::string* kept = ex.concurrent_body->kept_body();
  if (kept == nullptr) co_return;
  ex.replay_body = std::move(*kept);
  ex.body_buffered = true;
  ex.concurrent_body.reset();  // (its pump is over)
}

void DownstreamConnection::warn_upstream(const UpstreamConnection& conn, std::string_view what,
                                         std::string_view detail) {
  worker_.stats().upstream_invalid_responses.add();
  if (!worker_.log_limiter().allow()) return;
  spdlog::warn("upstream {}: {}: {} ({} similar lines suppressed)", conn.pool_key, what, detail,
               worker_.log_limiter().take_suppressed());
}

bool DownstreamConnection::may_retry(const Exchange& ex, Attempt failure, int retries_done) const {
  // A gRPC service with grpc_retry_on has declared its methods idempotent; its call can be sent
  // again when it has no body or its body was kept (attempt() and keep_body_for_retry()).
  bool grpc_replayable = !ex.service->config->grpc_retry_on.empty() && grpc_request() &&
                         (request_.framing == http::BodyFraming::none || ex.body_buffered);
  bool replayable = grpc_replayable || (!ex.body_consumed && is_idempotent(sent_method(ex)));
  return retry_allowed(worker_, *ex.service, ex.deadline, failure, retries_done, replayable);
}

asio::awaitable<void> DownstreamConnection::back_off(const Exchange& ex, int retry_number) {
  auto wait = backoff_delay(*ex.service->config, retry_number, retry_jitter_, ex.deadline);
  if (wait.count() <= 0) co_return;
  asio::steady_timer timer(socket_.get_executor(), wait);
  co_await timer.async_wait(use_tuple);
}

void DownstreamConnection::report_health(const Exchange& ex, Attempt outcome, int status) {
  report_passive_health(ex.service->upstream, ex.endpoint, outcome, status);
}

asio::awaitable<DownstreamConnection::Next> DownstreamConnection::answer_failure(Exchange& ex, Attempt failure) {
  bool has_body = request_.framing != http::BodyFraming::none;
  if (plugins_answer_failure(ex, failure_status(failure))) co_return co_await send_plugin_reply(ex);
  switch (failure) {
    case Attempt::connect_error:
      co_return co_await send_error(&ex, 502, kUpstreamInvalid, has_body);
    case Attempt::connect_timeout:
      co_return co_await send_error(&ex, 504, kUpstreamTimeout, has_body);
    case Attempt::overflow:
      co_return co_await send_error(&ex, 503, ex.error_message, has_body);
    case Attempt::write_timeout:
    case Attempt::read_timeout:
      co_return co_await send_error(&ex, 504, kUpstreamTimeout, true);
    case Attempt::invalid_response:
      co_return co_await send_error(&ex, 502, ex.error_message.empty() ? kUpstreamInvalid : ex.error_message,
                                    !in_.empty() || has_body);
    case Attempt::write_failed:
    case Attempt::no_response:
    case Attempt::response:
    case Attempt::answered:
      break;
  }
  co_return co_await send_error(&ex, 502, kUpstreamInvalid, true);
}

asio::awaitable<std::optional<DownstreamConnection::Attempt>> DownstreamConnection::open_h2_stream(
    Exchange& ex, bool fresh, std::unique_ptr<UpstreamConnection>& conn) {
  H2ClientPool& pool = worker_.h2_clients();
  std::shared_ptr<H2ClientConnection> connection = fresh ? nullptr : pool.find(ex.pool_key());
  ex.attempt_reused = connection != nullptr;
  if (connection) {
    ex.try_connected = ex.try_started;
    worker_.stats().upstream_reused.add();
  } else {
    std::unique_ptr<UpstreamConnection> socket;
    auto failed = co_await connect(ex, socket);
    if (failed) co_return failed;
    if (socket->tls && socket->tls->alpn() != "h2") {
      if (worker_.log_limiter().allow()) {
        spdlog::warn("connect to {} for service '{}' failed: the service does not speak HTTP/2 over TLS (ALPN "
                     "chose '{}') ({} similar lines suppressed)", socket->pool_key, ex.service->config->name,
                     socket->tls->alpn(), worker_.log_limiter().take_suppressed());
      }
      co_return Attempt::connect_error;
    }
    connection = H2ClientConnection::start(worker_, std::move(socket));
    pool.add(connection);
    ex.try_connected = Clock::now();
  }
  conn = std::make_unique<UpstreamConnection>(socket_.get_executor(), &worker_.buffers(), worker_.deadlines());
  conn->pool_key = ex.pool_key();
  conn->h2 = std::make_shared<H2ClientStream>(std::move(connection), ex.tls != nullptr);
  conn->deadline.wake_instead(&H2ClientStream::wake, conn->h2.get());
  co_return std::nullopt;
}

asio::awaitable<std::optional<DownstreamConnection::Attempt>> DownstreamConnection::connect(Exchange& ex,
                                                                            std::unique_ptr<UpstreamConnection>& conn) {
  const auto& svc = *ex.service->config;
  co_return co_await connect_upstream(worker_, socket_.get_executor(), ex.endpoint->address, ex.pool_key(),
                                      ex.service->upstream, "service", svc.name,
                                      ex.within_deadline(svc.connect_timeout_ms), ex.tls, conn, ex.error_message);
}

// The Host the upstream will be sent (a plugin's edit, the client's with preserve_host, else
// the endpoint's): an https service's server name is taken from it.
std::string_view DownstreamConnection::upstream_host(const Exchange& ex) const {
  if (ex.plugins) {
    std::string_view edited = ex.plugins->upstream_headers().find("Host");
    if (!edited.empty()) return edited;
  }
  if (ex.match.route->preserve_host && !request_.host.empty()) return request_.host;
  return ex.endpoint->host_header;  // (also when preserve_host has no client Host to keep)
}

asio::awaitable<DownstreamConnection::Attempt> DownstreamConnection::attempt(Exchange& ex, bool force_fresh,
                                                                            std::unique_ptr<UpstreamConnection>& conn) {
  const auto& options = worker_.options();
  const auto& svc = *ex.service->config;
  bool has_body = request_.framing != http::BodyFraming::none;

  conn.reset();
  ex.tls = upstream_tls(*ex.service, *ex.endpoint, upstream_host(ex), ex.upstream_tls);
  const bool http2 = svc.uses_http2();
  if (http2) {
    auto failed = co_await open_h2_stream(ex, force_fresh, conn);
    if (failed) co_return *failed;
  } else if (!force_fresh) {
    // A request that cannot be replayed checks that a pooled connection is still open.
    bool verify = has_body || !is_idempotent(sent_method(ex));
    conn = worker_.upstream_pool().take(ex.pool_key(), verify);
    if (conn) worker_.stats().upstream_reused.add();
  }
  if (!http2) ex.attempt_reused = conn != nullptr;
  if (!conn) {
    if (auto failed = co_await connect(ex, conn)) co_return *failed;
    ex.try_connected = Clock::now();
  } else {
    ex.try_connected = ex.try_started;  // nginx's $upstream_connect_time of a kept-alive connection: 0
  }
  conn->buffer.acquire();

  build_request_head(ex);

  auto read_timeout = ex.within_deadline(svc.read_timeout_ms);
  auto write_timeout = ex.within_deadline(svc.write_timeout_ms);
  Side client = client_side(options.client_body_timeout, options.client_body_timeout);
  Side upstream = conn->side(read_timeout, write_timeout);
  // A body read by a plugin is sent from memory (and can be sent again on a retry).
  bool plugin_body = ex.plugins && ex.plugins->request_body_read();
  bool buffered = plugin_body || ex.body_buffered;
  if (!buffered && request_.expect_continue && has_body && in_.empty() && !ex.body_consumed) {
    if (co_await write_all(client, kContinueResponse)) {
      ex.answer = Next::close;
      co_return Attempt::answered;
    }
  }
  PumpResult sent;
  if (buffered) {
    sent = co_await send_buffered_body(upstream, plugin_body ? ex.plugins->request_body() : ex.replay_body);
  } else {
    PumpSpec spec;
    spec.framing = request_.framing;
    spec.content_length = request_.content_length;
    spec.chunk_output = request_.framing == http::BodyFraming::chunked;
    spec.max_body = request_body_limit(ex.plugins.get());
    if (has_body) ex.body_consumed = true;
    // A gRPC service that retries gets a copy of the body kept, to send again.
    const bool keep_copy = has_body && conn->h2 && !svc.grpc_retry_on.empty();
    if (conn->h2 && stream_ != nullptr && has_body && !stream_->request_complete()) {
      // A gRPC call whose client is still sending: the body goes alongside the answer (a
      // bidirectional stream's client may wait for an answer before it sends more).
      if (co_await write_all(upstream, head_.view())) co_return Attempt::write_failed;
      ex.concurrent_body = ConcurrentBody::start(worker_.deadlines(), worker_.buffers(), *stream_, in_,
                                                 options.client_body_timeout, conn->h2, write_timeout, spec,
                                                 keep_copy ? kMaxPluginBody : 0);
    } else {
      spec.prefix = head_.view();
      if (keep_copy) {
        spec.tee = &ex.replay_body;
        spec.tee_max = kMaxPluginBody;
      }
      std::size_t written = 0;
      if (auto fast = send_buffered_now(client, upstream, spec, written, sent); fast != FastSend::done) {
        sent = co_await send_body_rest(client, upstream, spec, fast, written);
      }
      if (keep_copy && sent.ok() && !sent.tee_overflowed) ex.body_buffered = true;
    }
  }
  ex.request_body_bytes = plugin_body ? ex.plugins->request_body().size() : buffered ? ex.replay_body.size() : sent.body_bytes;
  switch (sent.failure) {
    case PumpFailure::none: break;
    case PumpFailure::too_large:
      // (the upstream connection, with part of a body sent, is dropped with the attempt)
      if (plugin_limits_body(ex.plugins.get())) {
        ex.answer = co_await send_error(&ex, ex.plugins->request_body_limit_status(),
                                        ex.plugins->request_body_limit_message(), true);
      } else {
        ex.answer = co_await send_error(&ex, 413, "request body too large", true);
      }
      co_return Attempt::answered;
    case PumpFailure::source_malformed:
      worker_.stats().bad_requests.add();
      ex.answer = co_await send_error(&ex, 400, "malformed chunked request body", true);
      co_return Attempt::answered;
    case PumpFailure::source_timeout:
      ex.answer = co_await send_error(&ex, 408, "timed out reading the request body", true);
      co_return Attempt::answered;
    case PumpFailure::source_closed:
    case PumpFailure::source_error:
      ex.answer = Next::close;
      co_return Attempt::answered;
    case PumpFailure::sink_failed: co_return Attempt::write_failed;
    case PumpFailure::sink_timeout:
      worker_.stats().upstream_timeouts.add();
      co_return Attempt::write_timeout;
  }
  ex.upstream_sent = Clock::now();
  bool is_head = request_.method == "HEAD";
  // The response head; interim 1xx responses are skipped.
  for (;;) {
    auto outcome = http::parse_response_head(conn->buffer.readable(), options.limits, is_head, *ex.response);
    if (outcome.state == http::ParseState::complete) {
      if (ex.response->status >= 100 && ex.response->status < 200) {
        if (ex.response->status == 101) {
          if (websocket_requested()) {
            ex.upstream_first_byte = Clock::now();
            co_return Attempt::response;  // the tunnel starts (relay_upgraded)
          }
          ex.error_message = "upstream switched protocols without an upgrade request";
          co_return Attempt::invalid_response;
        }
        conn->buffer.consume(ex.response->head_size);
        continue;
      }
      ex.upstream_first_byte = Clock::now();
      if (stream_ != nullptr && websocket_requested() && ex.response->status < 300) {
        // Over HTTP/2 a 2xx opens the tunnel (RFC 8441): a service that answered the upgrade
        // with one, instead of switching protocols, must not look like it had.
        ex.error_message = "upstream answered the WebSocket handshake without switching protocols (101)";
        co_return Attempt::invalid_response;
      }
      if (ex.snapshot->balancers[ex.service->balancer_index]->algorithm() == Algorithm::latency) {
        ex.endpoint->health->observe_latency(
            std::chrono::duration_cast<std::chrono::microseconds>(ex.upstream_first_byte - ex.upstream_sent),
            ex.upstream_first_byte);
      }
      co_return Attempt::response;
    }
    if (outcome.state == http::ParseState::error) {
      warn_upstream(*conn, "invalid response", outcome.message);
      co_return Attempt::invalid_response;
    }
    bool nothing_received = conn->buffer.empty();
    boost::system::error_code ec;
    if (nothing_received && worker_.others_busy()) {
      // The upstream has only just been sent the request: let the other ready work run
      // first, so a direct read usually finds the response instead of costing a failed
      // recv() plus an epoll round trip.
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      if (read_now(upstream, ec)) continue;
      if (ec == asio::error::would_block) ec = {};
    }
    if (!ec) ec = co_await read_more(upstream);
    if (!ec) continue;
    if (ec == asio::error::timed_out) {
      worker_.stats().upstream_timeouts.add();
      co_return Attempt::read_timeout;
    }
    co_return nothing_received ? Attempt::no_response : Attempt::invalid_response;
  }
}

bool DownstreamConnection::build_response_head(Exchange& ex, UpstreamConnection& conn, bool& chunk_out,
                                               std::optional<std::uint64_t> fixed_length, bool consume_head) {
  ex.upstream_status = ex.response->status;
  ex.from_service = true;
  const auto& resp = *ex.response;
  bool is_head = request_.method == "HEAD";
  bool client_http10 = request_.version_minor == 0;
  bool keep_alive = request_.keep_alive && !worker_.draining();
  chunk_out = false;
  // The plugins first: they may drop fields of the upstream's (response-transformer).
  plugin::RequestContext* plugins = ex.plugins.get();
  if (plugins != nullptr) {
    plugins->set_upstream_response(ex.response);
    plugin::run_response_headers(*plugins);
    if (!plugins->drops_response_headers()) plugins = nullptr;  // (only used for the drops below)
  }
  auto dropped = [plugins](std::string_view name) { return plugins != nullptr && plugins->drops_response_header(name); };
  response_.clear();
  response_.raw("HTTP/1.1 ").number(static_cast<std::uint64_t>(resp.status)).raw(" ")
      .raw(resp.reason.empty() ? http::reason_phrase(resp.status) : resp.reason).raw("\r\n");
  bool bodyless = is_head || resp.status == 204 || resp.status == 304 || resp.status < 200;
  for (const auto& h : resp.headers) {
    if (http::is_hop_by_hop_or_framing(h.kind)) {
      // A HEAD or 304 response's Content-Length describes the representation: keep it.
      if (bodyless && h.kind == http::FieldKind::content_length) response_.field(h.name, h.value);
      continue;
    }
    if (!resp.connection_tokens.empty() && http::named_in_connection(resp, h.name)) continue;
    if (dropped(h.name)) continue;
    response_.field(h.name, h.value);
  }
  // A body the compression plugin encodes has a length no one knows yet: chunked (HTTP/1.0:
  // close-delimited). A body a response_body plugin rewrote (fixed_length) is encoded whole
  // by relay_buffered, and sent the same way.
  ex.transforming = ex.plugins && ex.plugins->response_transform() != nullptr && !bodyless && !fixed_length;
  ex.compressing = ex.plugins && ex.plugins->compresses_response() && !bodyless &&
                   (fixed_length ? *fixed_length > 0 : resp.framing != http::BodyFraming::none || ex.transforming);
  switch (ex.compressing || ex.transforming ? http::BodyFraming::chunked
          : fixed_length                        ? http::BodyFraming::content_length
                                                : resp.framing) {
    case http::BodyFraming::content_length:
      if (!bodyless || !fixed_length) response_.field("Content-Length", fixed_length ? *fixed_length : resp.content_length);
      break;
    case http::BodyFraming::chunked:
    case http::BodyFraming::until_close:
      if (client_http10) keep_alive = false;
      else {
        chunk_out = true;
        response_.field("Transfer-Encoding", "chunked");
      }
      break;
    case http::BodyFraming::none:
      if (!bodyless) response_.field("Content-Length", std::uint64_t{0});
      break;
  }
  if (!ex.set_cookie.empty()) response_.raw(ex.set_cookie);
  if (ex.plugins) response_.raw(ex.plugins->response_headers());
  if (!dropped("Via")) response_.field("Via", "1.1 portico");
  if (sends_request_id_downstream() && !dropped(worker_.options().request_id_header)) {
    response_.field(worker_.options().request_id_header, request_id_of(ex));
  }
  if (!dropped("X-Portico-Upstream-Latency")) {
    response_.field("X-Portico-Upstream-Latency", millis_between(ex.upstream_sent, ex.upstream_first_byte));
  }
  if (!dropped("X-Portico-Proxy-Latency")) {
    response_.field("X-Portico-Proxy-Latency", millis_between(ex.started, ex.upstream_sent));
  }
  if (resp.status == 101) {  // the WebSocket handshake's answer: the upgrade's own fields
    std::string_view upgrade = resp.find("Upgrade");
    response_.field("Upgrade", upgrade.empty() ? std::string_view("websocket") : upgrade);
    response_.field("Connection", "upgrade");
  } else if (!keep_alive) {
    response_.field("Connection", "close");
  } else if (client_http10) {
    response_.field("Connection", "keep-alive");
  }
  response_.end();
  if (ex.plugins) ex.plugins->served.response_head = response_.view();
  if (consume_head) conn.buffer.consume(resp.head_size);

  return keep_alive;
}

}  // namespace portico::proxy
