// The per-request context plugins work with: a view of the request, the caller's
// identity, the edits to make to the upstream request and the client's response, the
// outcome (for the log phase), typed per-request state slots and an arena.
//
// Contexts are pooled per worker (ContextPool) and only taken for routes that have
// plugins; everything a plugin stores here comes from the context's arena, which is
// reset (not freed) between requests, so a steady state allocates nothing.
#pragma once

#include <array>
#include <chrono>
#include <span>
#include <boost/asio/awaitable.hpp>
#include <string>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/model.hpp"
#include "http/compressor.hpp"
#include "http/h1_parser.hpp"
#include "obs/log_format.hpp"

namespace portico::router {
struct CompiledRoute;
struct MatchResult;
}

namespace portico::plugin {

class Instance;
class BackendClient;
struct Chains;
struct Chain;

// Header edits for the upstream request: client copies of every named header are
// dropped; those with a value are then sent with Portico's value(s). An edit of `Host` sets
// the Host field the service gets.
class HeaderEdits {
 public:
  explicit HeaderEdits(std::pmr::memory_resource* arena) : edits_(arena) {}
  void set(std::string_view name, std::string_view value);  // replaces any earlier edit of `name`
  void add(std::string_view name, std::string_view value);  // another line of `name` (after set)
  void remove(std::string_view name);
  // Removes `name` if there is something to remove: a line of `client` (the request) or an
  // earlier edit. Nothing is recorded otherwise (every recorded edit is scanned by later edits
  // and by the upstream head's writer).
  void remove_present(const http::RequestHead& client, std::string_view name);
  // The (first) value set for `name`, empty when none is (or it is removed).
  std::string_view find(std::string_view name) const;
  bool empty() const { return edits_.empty(); }
  bool holds_memory() const { return edits_.capacity() != 0; }  // memory of the arena it was made with
  // Whether a client header of this name is replaced or removed.
  bool drops(std::string_view name) const;
  template <typename Fn>
  void for_each_set(Fn fn) const {
    for (const auto& e : edits_) {
      if (e.has_value) fn(e.name, e.value);
    }
  }
  void clear() { edits_.clear(); }

 private:
  struct Edit {
    std::string_view name, value;
    bool has_value;
  };
  // An authenticated request edits about eight headers (identity, groups, claims): room for
  // them at once, so the vector does not grow (and copy) edit by edit in the arena.
  static constexpr std::size_t kTypicalEdits = 12;
  std::pmr::vector<Edit> edits_;
};

// How the upstream part of the request ended, for plugins' log phase.
struct UpstreamVerdict {
  enum class Kind { none, response, failure, shed };
  Kind kind = Kind::none;
  int status = 0;             // the upstream's status, or the status Portico answered with
  bool timed_out = false;
  bool connection_error = false;
};

class RequestContext;

// Supplied by the proxy: reads the whole request body for plugins that need it.
class BodyReader {
 public:
  // Fills ctx's request body; false when it could not be read (ctx.body_error() says why).
  virtual boost::asio::awaitable<bool> read_request_body(RequestContext& ctx) = 0;

 protected:
  ~BodyReader() = default;
};

// Follows the calls the gateway makes itself for a request (the aggregate plugin's backend
// calls) for a tracing plugin (opentelemetry), which sets it in its access phase: each call
// carries the trace to its service and is recorded as a span of the request's trace.
class CallTracer {
 public:
  struct Call {
    std::string_view method;
    std::string_view url;       // "http://host:port/target", as sent
    int status = 0;             // the answer's status, 0 when there was none
    std::string_view error;     // why there was no usable answer
    std::chrono::steady_clock::time_point start, end;
  };
  // A call starts: the header lines (complete, in the request's arena) that carry the trace
  // to the callee; `call` receives the id to give call_finished.
  virtual std::string_view call_started(RequestContext& ctx, std::size_t& call) const = 0;
  virtual void call_finished(RequestContext& ctx, std::size_t call, const Call& what) const = 0;

 protected:
  ~CallTracer() = default;
};

class RequestContext {
 public:
  RequestContext();
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  // Called by the proxy before the access phase; reset() when the request is over.
  void begin(const http::RequestHead& request, std::string_view client_ip, std::string_view path,
             const router::CompiledRoute* route, const config::ServiceConfig* service, const Chains* chains);
  void reset();

  // --- the request, read-only ---
  const http::RequestHead& request() const { return *request_; }
  std::string_view client_ip() const { return client_ip_; }
  std::string_view path() const { return path_; }  // normalised
  void set_path(std::string_view path) { path_ = path; }  // the proxy, when the head's bytes move
  // The gateway's id of this request ($request_id), and the header that carries it to
  // services (empty when --request-id-upstream is off): backend calls send it too.
  std::string_view request_id() const { return request_id_; }
  std::string_view request_id_header() const { return request_id_header_; }
  void set_request_id(std::string_view id, std::string_view upstream_header) {
    request_id_ = id;
    request_id_header_ = upstream_header;
  }
  // The port of the listener the request came in on (Kong's kong.request.get_port()); 0 for
  // the calls the gateway makes on a plugin's behalf.
  int server_port() const { return server_port_; }
  void set_server_port(int port) { server_port_ = static_cast<std::uint16_t>(port); }
  // "https" when the request came over TLS, else "http" (Kong's kong.request.get_scheme()).
  std::string_view scheme() const { return https_ ? "https" : "http"; }
  void set_https(bool https) { https_ = https; }
  const router::CompiledRoute* route() const { return route_; }
  const config::ServiceConfig* service() const { return service_; }
  const Chains* chains() const { return chains_; }
  // The chain the access phase ended on (the consumer's, once one was identified).
  // Set by begin() to the base chain; the engine's position in the access phase.
  const Chain* active_chain = nullptr;
  std::size_t access_index = 0;

  // The route match (regex captures), set by the proxy after begin().
  void set_match(const router::MatchResult* match) { match_ = match; }
  const router::MatchResult* match() const { return match_; }  // null when not proxied
  // A capture of the route's regex path by name (`(?<user>...)`) or number ("1"; "0" is the
  // whole match), as Kong's uri_captures; nullopt when the path has no such group or it did
  // not take part.
  std::optional<std::string_view> path_capture(std::string_view name) const;

  // --- identity (Kong's kong.client.authenticate) ---
  // A credential proved who the caller is; sets Kong's identity headers upstream.
  void authenticate(const config::ConsumerConfig& consumer, std::string_view credential_identifier);
  // A credential that belongs to no consumer (a token verified against an identity
  // provider's keys): X-Consumer-* are removed, X-Credential-Identifier is set.
  void authenticate_without_consumer(std::string_view credential_identifier);
  // An auth plugin failed but has `anonymous` set: the request goes on as that consumer.
  void authenticate_anonymous(const config::ConsumerConfig& consumer);
  const config::ConsumerConfig* consumer() const { return consumer_; }
  bool has_credential() const { return has_credential_; }  // Kong's kong.client.get_credential()
  bool anonymous() const { return consumer_ != nullptr && !has_credential_; }
  std::string_view credential_identifier() const { return credential_identifier_; }
  // The claims of the token an auth plugin verified (the jwt plugin): the compact token's
  // payload part, base64url JSON, in the arena (valid for the request). Empty when none was verified.
  void set_verified_claims(std::string_view payload_base64url) { verified_claims_ = payload_base64url; }
  std::string_view verified_claims() const { return verified_claims_; }

  // --- calls the gateway makes itself (plugin/backend_client.hpp), from access_async ---
  void set_backend_client(BackendClient* client) { backend_client_ = client; }
  BackendClient* backend_client() const { return backend_client_; }
  // The tracer the gateway's own calls for this request report to (null: none).
  void set_call_tracer(const CallTracer* tracer) { call_tracer_ = tracer; }
  const CallTracer* call_tracer() const { return call_tracer_; }

  // --- answering from the access phase ---
  // Answers with Kong's error body {"message": "..."}; `extra_headers` are complete lines.
  void reply(int status, std::string_view message, std::string_view extra_headers = {});
  // Answers with a ready JSON body.
  void reply_json(int status, std::string_view json_body, std::string_view extra_headers = {});
  // Answers with a stored response (a cache hit): `header_lines` (complete lines) and `body`
  // point into memory `owner` keeps alive; they are sent as they are, not copied (the proxy
  // adds Content-Length and Connection).
  void reply_stored(int status, std::string_view header_lines, std::string_view body, std::shared_ptr<const void> owner);
  bool reply_is_stored() const { return reply_status_ != 0 && stored_owner_ != nullptr; }
  void clear_reply() { touch_cold(), reply_status_ = 0, reply_body_ = reply_headers_ = {}, stored_owner_.reset(); }
  int reply_status() const { return reply_status_; }
  std::string_view reply_body() const { return reply_body_; }
  std::string_view reply_headers() const { return reply_headers_; }

  // --- the request body (only for plugins that need it) ---
  void set_body_reader(BodyReader* reader) { body_reader_ = reader; }
  // Reads the whole request body (bounded by --max-body-size, else 8 MiB) once; from
  // access_async only. After it, request_body() is what the upstream receives (with a
  // Content-Length), and a plugin may rewrite it. False when the body could not be read:
  // reply with body_error_status() / body_error() (the connection then closes).
  boost::asio::awaitable<bool> read_request_body();
  bool request_body_read() const { return body_read_; }
  std::string& request_body() { return touch_cold(), request_body_; }
  const std::string& request_body() const { return request_body_; }
  // Used by the proxy's BodyReader.
  void set_request_body_read() { body_read_ = true; }
  void set_body_error(int status, std::string_view message) { touch_cold(), body_error_status_ = status, body_error_ = message; }
  int body_error_status() const { return body_error_status_; }
  std::string_view body_error() const { return body_error_; }
  // The request head's bytes, kept when the body is read (the head's views then point here).
  std::string& saved_head() { return touch_cold(), saved_head_; }

  // --- the upstream request ---
  HeaderEdits& upstream_headers() { return upstream_headers_; }
  const HeaderEdits& upstream_headers() const { return upstream_headers_; }
  void set_upstream_query(std::string_view query) { touch_cold(), upstream_query_ = store(query), query_replaced_ = true; }
  bool query_replaced() const { return query_replaced_; }
  std::string_view upstream_query() const { return upstream_query_; }
  // The method and path (without the query) the service gets, when a plugin changes them
  // (request-transformer's http_method and replace.uri); empty: the request's own.
  void set_upstream_method(std::string_view method) { touch_cold(), upstream_method_ = store(method); }
  std::string_view upstream_method() const { return upstream_method_; }
  void set_upstream_path(std::string_view path) { touch_cold(), upstream_path_ = store(path); }
  std::string_view upstream_path() const { return upstream_path_; }
  // The most request body bytes the request may carry (request-size-limiting): the proxy
  // answers `status` (413, or 417 after Expect: 100-continue) with `message` (memory the
  // plugin keeps) as soon as more arrive, also for a streamed or chunked body, and does not
  // reuse the upstream connection the body was going to. 0: no limit beyond the gateway's.
  void limit_request_body(std::uint64_t max_bytes, int status, std::string_view message) {
    touch_cold(), request_body_limit_ = max_bytes, request_body_limit_status_ = status, request_body_limit_message_ = message;
  }
  std::uint64_t request_body_limit() const { return request_body_limit_; }
  int request_body_limit_status() const { return request_body_limit_status_; }
  std::string_view request_body_limit_message() const { return request_body_limit_message_; }

  // --- the client's response ---
  // The upstream's response head, for the response_headers and response_body phases (null
  // before it arrives, and for answers Portico made itself).
  const http::ResponseHead* upstream_response() const { return upstream_response_; }
  void set_upstream_response(const http::ResponseHead* head) { upstream_response_ = head; }
  // The trailer section of the upstream's body ("name: value\r\n" lines: a gRPC service's
  // grpc-status), for the response_body phase; empty when there was none.
  std::string_view upstream_trailers() const { return upstream_trailers_; }
  void set_upstream_trailers(std::string_view fields) { touch_cold(), upstream_trailers_ = fields; }
  // A streaming rewrite of the response body (grpc-gateway's transcoder), set from
  // response_headers: the proxy sends the body through it (chunked to HTTP/1.1 clients).
  void transform_response(std::unique_ptr<http::BodyTransform> transform) {
    touch_cold(), response_transform_ = std::move(transform);
  }
  http::BodyTransform* response_transform() const { return response_transform_.get(); }
  void add_response_header(std::string_view name, std::string_view value);
  // Complete "Name: value\r\n" lines at once (a plugin that sets several headers).
  void add_response_header_lines(std::string_view lines);
  std::string_view response_headers() const { return response_headers_; }  // complete lines
  // Removes every field of this name (case-insensitive) from the client's response: the
  // upstream's, those plugins added so far, and the gateway's own (Via, X-Portico-*). A
  // later add_response_header() of the name adds it again.
  void drop_response_header(std::string_view name);
  // (Asked for every field of every response on a route whose plugins drop some: a bit per
  // name length rules most fields out before any name is compared.)
  bool drops_response_header(std::string_view name) const {
    return ((dropped_lengths_ >> (name.size() & 63)) & 1) != 0 && dropped_among(name);
  }
  bool drops_response_headers() const { return !dropped_response_headers_.empty(); }
  // The value of field `name` the client gets as things stand: the first a plugin added, else
  // the upstream's unless a plugin dropped it (Kong's live kong.response.get_header()); `present`
  // says whether there is one at all.
  std::string_view response_header(std::string_view name, bool& present) const;
  // The client gets this value alone for the field (drop, then add).
  void set_response_header(std::string_view name, std::string_view value) {
    drop_response_header(name);
    add_response_header(name, value);
  }

  // --- compressing the client's response (the compression plugin, from response_headers) ---
  // The proxy encodes the body as it streams it (chunked to HTTP/1.1 clients), unless the
  // response has no body; the plugin sets Content-Encoding and Vary itself.
  void compress_response(http::Coding coding, int level) {
    compress_coding_ = static_cast<std::int8_t>(coding), compress_level_ = static_cast<std::int8_t>(level);
  }
  bool compresses_response() const { return compress_coding_ >= 0; }
  http::Coding response_coding() const { return static_cast<http::Coding>(compress_coding_); }
  int response_coding_level() const { return compress_level_; }

  // --- a copy of the response body as the client gets it (a cache filling an entry) ---
  // From response_headers: the proxy keeps a copy of the body it relays, up to `max_bytes`
  // (a larger body is not kept). When it is complete, the body_captured phase runs (before
  // the body's last bytes go to the client) and captured_body() is the whole body; it stays
  // null when the body was larger, or cut short, or the client went away first.
  void capture_response_body(std::size_t max_bytes) { capture_max_ = max_bytes; }
  std::size_t capture_limit() const { return capture_max_; }
  std::string& capture_buffer() { return touch_cold(), captured_; }  // the proxy's side
  void set_capture_complete() { capture_complete_ = true; }
  std::string* captured_body() { return capture_complete_ ? (touch_cold(), &captured_) : nullptr; }

  // --- the outcome (log phase) ---
  UpstreamVerdict verdict;
  int status = 0;  // the status the client got (0: none was sent)
  // What the exchange cost and carried, set by the proxy just before the log phase (Kong's
  // serialized latencies and sizes).
  struct Served {
    std::uint64_t bytes_received = 0;  // request head and body bytes read from the client
    std::uint64_t bytes_sent = 0;      // response head and body bytes written to the client
    double request_ms = 0;             // from the request's first byte to the log phase
    double upstream_ms = -1;           // waiting for the service's response head (-1: not asked); Kong's latencies.proxy
    double gateway_ms = 0;             // the gateway's own time (before the request went upstream); Kong's latencies.kong
    bool from_service = false;         // the answer is the service's (Kong's response source "service")
    std::chrono::steady_clock::time_point started{};  // when the request's first byte was read
    std::string_view response_head;    // the head sent to the client (status line to blank line), if kept
    std::string_view upstream_uri;     // the target sent to the service
    obs::UpstreamTry last_try;         // address empty: the service was not tried
    std::span<const obs::UpstreamTry> earlier_tries;  // failed or retried tries before it
  };
  Served served;
  // Where the proxy keeps an answer it made itself (an error, a plugin's reply) for the log
  // phase: served.response_head points into it.
  std::string& kept_answer() { return touch_cold(), kept_answer_; }

  // --- memory ---
  std::pmr::memory_resource* arena() { return &arena_; }
  // A copy of `s` in the arena, valid until the request ends.
  std::string_view store(std::string_view s);
  std::string_view concat(std::initializer_list<std::string_view> parts);
  // The request's state slot for `owner`, default-constructed on first use. State types
  // must be trivially destructible (the arena is reset, not unwound).
  template <typename T>
  T& state(const Instance& owner) {
    static_assert(std::is_trivially_destructible_v<T>, "plugin state must be trivially destructible");
    if (void* existing = find_slot(&owner)) return *static_cast<T*>(existing);
    void* memory = arena_.allocate(sizeof(T), alignof(T));
    T* fresh = new (memory) T{};
    add_slot(&owner, fresh);
    return *fresh;
  }

  // The slot if state(owner) was used in this request, else nullptr.
  template <typename T>
  T* existing_state(const Instance& owner) const {
    return static_cast<T*>(find_slot(&owner));
  }

 private:
  void* find_slot(const Instance* owner) const;
  void add_slot(const Instance* owner, void* state);
  void set_identity_headers();

  struct Slot {
    const Instance* owner;
    void* state;
  };
  // Marks a cold field as written: reset() then resets the cold fields too.
  void touch_cold() { cold_used_ = true; }
  void reset_cold();
  bool dropped_among(std::string_view name) const;  // the names in dropped_response_headers_

  // The layout follows use: with many requests in flight, each context's lines compete for the
  // cache, so the fields every request touches come first and together (after the public ones
  // above), those only some requests use (bodies, replies, stored answers) after them, and the
  // arena's first buffer last (a request uses a few hundred bytes of it). reset() only writes
  // the cold fields when one of them was written (cold_used_).

  // --- hot: every request with plugins reads or writes these ---
  const http::RequestHead* request_ = nullptr;
  std::string_view client_ip_, path_;
  std::string_view request_id_, request_id_header_;
  const router::CompiledRoute* route_ = nullptr;
  const config::ServiceConfig* service_ = nullptr;
  const Chains* chains_ = nullptr;
  const router::MatchResult* match_ = nullptr;
  BackendClient* backend_client_ = nullptr;
  const CallTracer* call_tracer_ = nullptr;
  BodyReader* body_reader_ = nullptr;
  const http::ResponseHead* upstream_response_ = nullptr;
  const config::ConsumerConfig* consumer_ = nullptr;
  std::string_view credential_identifier_, verified_claims_;
  std::string_view response_headers_;
  // Response fields dropped (drop_response_header): each name followed by '\n', in the arena.
  // Hot, not cold: a header-only transformation should not make reset() clear the cold part.
  std::string_view dropped_response_headers_;
  std::uint64_t dropped_lengths_ = 0;  // bit (length % 64) set for each dropped name
  std::size_t capture_max_ = 0;
  std::size_t slot_count_ = 0;
  int reply_status_ = 0;
  int body_error_status_ = 0;
  bool has_credential_ = false;
  bool query_replaced_ = false;
  bool capture_complete_ = false;
  bool body_read_ = false;
  bool cold_used_ = false;
  std::int8_t compress_coding_ = -1, compress_level_ = 0;
  std::uint16_t server_port_ = 0;
  bool https_ = false;
  std::pmr::monotonic_buffer_resource arena_;
  HeaderEdits upstream_headers_;
  std::array<Slot, 16> slots_{};

  // --- cold: written only through touch_cold() paths ---
  std::pmr::vector<Slot> more_slots_;  // the slots past slots_ (slot_count_ > 16)
  std::string_view reply_body_, reply_headers_;
  std::shared_ptr<const void> stored_owner_;  // a stored reply's memory (reply_stored)
  std::string_view upstream_query_, upstream_method_, upstream_path_;
  std::string_view upstream_trailers_;
  std::unique_ptr<http::BodyTransform> response_transform_;
  std::uint64_t request_body_limit_ = 0;
  int request_body_limit_status_ = 0;
  std::string_view request_body_limit_message_;
  std::string_view body_error_;
  std::string captured_;      // heap, like request_body_
  std::string request_body_;  // heap: bodies can be large; capacity kept for reuse (bounded in reset)
  std::string saved_head_;
  std::string kept_answer_;

  alignas(std::max_align_t) std::array<std::byte, 2048> initial_;  // the arena's first buffer
};

// Per-worker pool of contexts (one thread; no locking).
class ContextPool {
 public:
  struct Return {
    ContextPool* pool;
    void operator()(RequestContext* ctx) const { pool->give_back(ctx); }
  };
  using Lease = std::unique_ptr<RequestContext, Return>;
  Lease take();
  ~ContextPool();

 private:
  void give_back(RequestContext* ctx);
  std::vector<RequestContext*> free_;
};

}  // namespace portico::plugin
