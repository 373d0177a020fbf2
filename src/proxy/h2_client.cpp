#include "proxy/h2_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <algorithm>
#include <cstring>
#include <spdlog/spdlog.h>

#include "core/worker.hpp"
#include "http/h1_parser.hpp"
#include "http/status.hpp"
#include "proxy/h2_frames.hpp"
#include "proxy/io.hpp"
#include "proxy/upstream_pool.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kForever = Clock::time_point::max();
// Nothing times the connection's own reads out: streams have their deadlines, and an idle
// connection is closed by the pool's sweep.
constexpr std::chrono::milliseconds kNoReadLimit = std::chrono::hours(24);
// A service that takes no bytes for this long (its TCP window stays shut) has failed: the
// connection ends and its streams see a reset.
constexpr std::chrono::milliseconds kConnectionWriteTimeout{60000};

// The request heads come from the head writer, within the lifecycle's own limits.
const http::ParserLimits& request_limits() {
  static const http::ParserLimits limits{1 << 20, 1 << 20, 10000};
  return limits;
}

asio::awaitable<void> wait_for(asio::steady_timer& signal) {
  signal.expires_at(kForever);
  auto [ec] = co_await signal.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;  // cancel() is the wake-up
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
          const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// Response fields that describe the HTTP/2 message's framing or connection: the HTTP/1.1
// response made from the stream gets its own framing instead.
bool dropped_response_field(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" || name == "keep-alive" ||
         name == "upgrade" || name == "proxy-connection" || name == "trailer";
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// H2ClientStream

H2ClientStream::H2ClientStream(std::shared_ptr<H2ClientConnection> connection, bool tls)
    : connection_(std::move(connection)),
      tls_(tls),
      read_signal_(connection_->executor(), kForever),
      write_signal_(connection_->executor(), kForever) {
  connection_->reserve();
}

H2ClientStream::~H2ClientStream() {
  if (id_ > 0 && !closed_ && !complete()) connection_->reset(id_, NGHTTP2_CANCEL);
  connection_->unreserve(*this);
}

void H2ClientStream::cancel() {
  if (complete()) return;
  if (id_ > 0 && !closed_) connection_->reset(id_, NGHTTP2_CANCEL);
  closed_ = true;
  if (!response_done_) reset_ = true;
  wake_all();
}

void H2ClientStream::wake(void* self) { static_cast<H2ClientStream*>(self)->wake_all(); }

void H2ClientStream::wake_all() {
  read_signal_.cancel();
  write_signal_.cancel();
}

asio::awaitable<void> H2ClientStream::wait_readable() {
  if (in_at_ < in_.size() || response_done_ || reset_) co_return;
  co_await wait_for(read_signal_);
}

asio::awaitable<void> H2ClientStream::wait_writable() {
  if (queued() < kHighWater || reset_) co_return;
  co_await wait_for(write_signal_);
}

std::size_t H2ClientStream::read(char* data, std::size_t size, error_code& ec) {
  ec = {};
  std::size_t available = in_.size() - in_at_;
  if (available > 0) {
    std::size_t n = std::min(size, available);
    std::memcpy(data, in_.data() + in_at_, n);
    in_at_ += n;
    if (in_at_ == in_.size()) {
      in_.clear();
      in_at_ = 0;
    }
    // Read bytes go back to the service's window (framing bytes counted as data: a few
    // bytes early at most).
    std::size_t give = std::min(n, unconsumed_);
    unconsumed_ -= give;
    if (give > 0 && !closed_) connection_->consume(id_, give);
    return n;
  }
  if (response_done_) ec = asio::error::eof;
  else if (reset_) ec = asio::error::connection_reset;
  else ec = asio::error::would_block;
  return 0;
}

std::size_t H2ClientStream::write(Buffers buffers, std::size_t skip, error_code& ec) {
  ec = {};
  const std::size_t total = asio::buffer_size(buffers) - std::min(skip, asio::buffer_size(buffers));
  if (response_done_) {
    // The service answered without reading the whole request (RFC 9113 8.1): the rest is
    // dropped, and the lifecycle goes on to relay the answer.
    request_done_ = true;
    return total;
  }
  if (reset_) {
    ec = asio::error::connection_reset;
    return 0;
  }
  if (out_ == Out::body && queued() >= kHighWater) {
    ec = asio::error::would_block;
    return 0;
  }
  bool failed = false;
  std::size_t taken = for_each_piece(buffers, skip, [&](std::string_view bytes) {
    while (!bytes.empty()) {
      if (out_ == Out::head) {
        if (!feed_head(bytes)) return !(failed = true);
        continue;
      }
      if (out_ == Out::body) {
        body_.feed(bytes);
        if (body_.complete()) {
          out_ = Out::done;
          request_done_ = true;
        }
      }
      break;  // (nothing follows a complete request)
    }
    return true;
  });
  if (failed) {
    reset_ = true;
    ec = asio::error::connection_reset;
    return taken;
  }
  if (id_ > 0 && (queued() > 0 || request_done_)) connection_->resume(id_);
  return taken;
}

bool H2ClientStream::feed_head(std::string_view& bytes) {
  std::size_t before = head_out_.size();
  if (before > 0) head_out_.append(bytes);
  std::string_view input = before > 0 ? std::string_view(head_out_) : bytes;
  http::RequestHead head;
  auto outcome = http::parse_request_head(input, request_limits(), head);
  if (outcome.state == http::ParseState::error) return false;
  if (outcome.state == http::ParseState::incomplete) {
    if (before == 0) head_out_.assign(bytes);
    bytes = {};
    return true;
  }
  // RFC 9113 8.3.1: the pseudo-fields first; Host becomes :authority; connection-specific
  // fields go (TE but "trailers", which gRPC requires). Names are lowercased in `names`,
  // which must not move while the fields point into it.
  std::size_t name_bytes = 0;
  for (const auto& h : head.headers) name_bytes += h.name.size();
  std::string names;
  names.reserve(name_bytes);
  std::vector<nghttp2_nv> fields;
  fields.reserve(head.headers.size() + 5);
  fields.push_back(make_nv(":method", head.method));
  fields.push_back(make_nv(":scheme", tls_ ? "https" : "http"));
  fields.push_back(make_nv(":authority", head.host));
  fields.push_back(make_nv(":path", head.target));
  for (const auto& h : head.headers) {
    if (h.kind == http::FieldKind::host || h.kind == http::FieldKind::te || http::is_connection_specific(h.kind)) continue;
    if (h.kind == http::FieldKind::content_length && head.framing != http::BodyFraming::content_length) continue;
    if (!head.connection_tokens.empty() && http::named_in_connection(head, h.name)) continue;
    std::size_t at = names.size();
    for (char c : h.name) names += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    fields.push_back(make_nv(std::string_view(names).substr(at, h.name.size()), h.value));
  }
  fields.push_back(make_nv("te", "trailers"));
  body_.start(head.framing, head.content_length);
  bool has_body = !body_.complete();
  id_ = connection_->submit(*this, fields, has_body);
  if (id_ <= 0) return false;
  out_ = has_body ? Out::body : Out::done;
  request_done_ = !has_body;
  bytes.remove_prefix(head.head_size - before);
  head_out_.clear();
  return true;
}

long H2ClientStream::take(std::uint8_t* out, std::size_t size, std::uint32_t* flags) {
  bool ended = false;
  std::size_t n = body_.take(out, size, ended);
  if (ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  if (queued() < kHighWater / 2) write_signal_.cancel();
  return static_cast<long>(n);
}

void H2ClientStream::add_field(std::string_view name, std::string_view value) {
  if (name == ":status") {
    status_ = 0;
    for (char c : value) status_ = status_ * 10 + (c - '0');  // (nghttp2 checked: three digits)
    return;
  }
  if (name.empty() || name.front() == ':' || dropped_response_field(name)) return;
  fields_.append(name).append(": ").append(value).append("\r\n");
}

void H2ClientStream::headers_done(bool end_stream) {
  if (!head_received_) {
    if (status_ >= 100 && status_ < 200) {  // interim: the final head follows
      fields_.clear();
      return;
    }
    head_received_ = true;
    in_.append("HTTP/1.1 ").append(std::to_string(status_)).append(" ").append(http::reason_phrase(status_)).append("\r\n");
    in_.append(fields_);
    // A HEADERS frame that ends the stream (gRPC's trailers-only answer) has no body; any
    // other answer is chunked, so that trailers can follow its DATA.
    in_.append(end_stream ? "content-length: 0\r\n\r\n" : "transfer-encoding: chunked\r\n\r\n");
    if (end_stream) response_done_ = true;
  } else {
    in_.append("0\r\n").append(fields_).append("\r\n");  // the trailers end the body
    response_done_ = true;
  }
  fields_.clear();
  read_signal_.cancel();
}

void H2ClientStream::receive_data(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  char line[http::kChunkSizeLineMax];
  in_.append(line, http::write_chunk_size_line(size, line));
  in_.append(reinterpret_cast<const char*>(data), size);
  in_.append("\r\n");
  unconsumed_ += size;
  read_signal_.cancel();
}

void H2ClientStream::response_ended() {
  if (response_done_ || !head_received_) return;
  in_.append("0\r\n\r\n");
  response_done_ = true;
  read_signal_.cancel();
}

void H2ClientStream::closed(std::uint32_t error_code) {
  closed_ = true;
  if (!response_done_) {
    reset_ = true;
    refused_ = error_code == NGHTTP2_REFUSED_STREAM && !head_received_;
  }
  wake_all();
}

void H2ClientStream::abort() {
  closed_ = true;
  if (!response_done_) reset_ = true;
  wake_all();
}

// ---------------------------------------------------------------------------------------------
// H2ClientConnection

struct H2ClientConnection::Callbacks {
  static H2ClientConnection& self(void* user) { return *static_cast<H2ClientConnection*>(user); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (H2ClientStream* stream = self(user).find(frame->hd.stream_id)) {
      stream->add_field({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2ClientConnection& c = self(user);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (H2ClientStream* stream = c.find(frame->hd.stream_id)) stream->headers_done(end_stream);
        break;
      case NGHTTP2_DATA:
        if (end_stream) {
          if (H2ClientStream* stream = c.find(frame->hd.stream_id)) stream->response_ended();
        }
        break;
      case NGHTTP2_GOAWAY:
        c.going_away_ = true;  // no new streams; nghttp2 closes those it did not process
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t len, void* user) {
    if (H2ClientStream* stream = self(user).find(stream_id)) {
      stream->receive_data(data, len);
    } else {
      nghttp2_session_consume(session, stream_id, len);  // nobody reads it: keep the window open
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user) {
    H2ClientConnection& c = self(user);
    auto it = c.streams_.find(stream_id);
    if (it == c.streams_.end()) return 0;
    H2ClientStream* stream = it->second;
    c.streams_.erase(it);
    stream->closed(error_code);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    H2ClientStream* stream = self(user).find(stream_id);
    if (stream == nullptr) return NGHTTP2_ERR_DEFERRED;  // (its reset is on its way)
    return stream->take(buf, length, flags);
  }
};

std::shared_ptr<H2ClientConnection> H2ClientConnection::start(Worker& worker, std::unique_ptr<UpstreamConnection> conn) {
  auto connection = std::make_shared<H2ClientConnection>(worker, std::move(conn));
  asio::co_spawn(connection->executor(), [connection]() { return connection->run(); }, asio::detached);
  return connection;
}

H2ClientConnection::H2ClientConnection(Worker& worker, std::unique_ptr<UpstreamConnection> conn)
    : worker_(worker),
      conn_(std::move(conn)),
      write_deadline_(worker.deadlines(), &conn_->socket),
      idle_since_(Clock::now()),
      write_signal_(conn_->socket.get_executor(), kForever) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::on_stream_close);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Window updates follow what the lifecycles read (flow control is real).
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  // The connection's window: every stream's at once, so one stream's unread answer never
  // blocks the others.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(std::min<std::uint64_t>(
                                            std::uint64_t{kMaxStreams} * kStreamWindow, NGHTTP2_MAX_WINDOW_SIZE)));
}

H2ClientConnection::~H2ClientConnection() { nghttp2_session_del(session_); }

asio::any_io_executor H2ClientConnection::executor() const { return conn_->socket.get_executor(); }

const std::string& H2ClientConnection::pool_key() const { return conn_->pool_key; }

bool H2ClientConnection::usable() const {
  if (ended_ || going_away_) return false;
  // Stream ids run out after 2^30 client streams: such a connection is used up.
  if (nghttp2_session_get_next_stream_id(session_) > (1u << 31) - 1024) return false;
  std::uint32_t limit = std::min(kMaxStreams, nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  return reserved_ < limit;
}

void H2ClientConnection::unreserve(H2ClientStream& stream) {
  if (stream.id() > 0) {
    auto it = streams_.find(stream.id());
    if (it != streams_.end() && it->second == &stream) streams_.erase(it);
  }
  if (--reserved_ == 0) idle_since_ = Clock::now();
}

std::int32_t H2ClientConnection::submit(H2ClientStream& stream, const std::vector<nghttp2_nv>& fields, bool body_follows) {
  if (ended_) return -1;
  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::read_body;
  std::int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                           body_follows ? &provider : nullptr, nullptr);
  if (id > 0) streams_.emplace(id, &stream);
  kick();
  return id;
}

void H2ClientConnection::resume(std::int32_t stream_id) {
  if (ended_) return;
  nghttp2_session_resume_data(session_, stream_id);
  kick();
}

void H2ClientConnection::reset(std::int32_t stream_id, std::uint32_t error_code) {
  if (ended_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  kick();
}

void H2ClientConnection::consume(std::int32_t stream_id, std::size_t bytes) {
  if (ended_ || bytes == 0) return;
  nghttp2_session_consume(session_, stream_id, bytes);
  kick();
}

H2ClientStream* H2ClientConnection::find(std::int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second;
}

void H2ClientConnection::kick() { write_signal_.cancel(); }

void H2ClientConnection::close() {
  if (ended_) return;
  going_away_ = true;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  kick();
}

asio::awaitable<void> H2ClientConnection::run() {
  conn_->buffer.acquire();
  co_await (read_loop() && write_loop());
  end();
}

void H2ClientConnection::end() {
  ended_ = true;
  // Streams still open see their connection reset.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->abort();
  boost::system::error_code ignored;
  conn_->socket.close(ignored);
}

asio::awaitable<void> H2ClientConnection::read_loop() {
  Side reader{conn_->socket, conn_->buffer, conn_->deadline, kNoReadLimit, kNoReadLimit, conn_->tls.get()};
  ByteBuffer& in = conn_->buffer;
  for (;;) {
    if (!in.empty()) {
      std::string_view data = in.readable();
      auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
      in.consume(data.size());
      if (rv < 0) {
        if (worker_.log_limiter().allow()) {
          spdlog::warn("upstream {}: HTTP/2 connection error: {} ({} similar lines suppressed)", conn_->pool_key,
                       nghttp2_strerror(static_cast<int>(rv)), worker_.log_limiter().take_suppressed());
        }
        nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
        break;
      }
      kick();
    }
    if (ended_ || nghttp2_session_want_read(session_) == 0) break;
    error_code ec = co_await read_more(reader);
    if (ec) break;  // the service closed, or the writer ended the connection
  }
  ended_ = true;
  going_away_ = true;
  kick();
}

asio::awaitable<void> H2ClientConnection::write_loop() {
  Side writer{conn_->socket, conn_->buffer, write_deadline_, kNoReadLimit, kConnectionWriteTimeout,
              conn_->tls.get()};
  for (;;) {
    bool failed = false;
    for (;;) {
      failed = !gather_frames(session_, out_);
      if (failed || out_.empty()) break;
      if (co_await write_all(writer, out_)) {
        failed = true;
        break;
      }
    }
    if (failed) break;
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) break;
    if (ended_ && nghttp2_session_want_write(session_) == 0) break;
    co_await wait_for(write_signal_);
  }
  ended_ = true;
  going_away_ = true;
  boost::system::error_code ignored;
  conn_->socket.cancel(ignored);  // the reader stops too
}

// ---------------------------------------------------------------------------------------------
// H2ClientPool

std::shared_ptr<H2ClientConnection> H2ClientPool::find(const std::string& key) {
  auto it = connections_.find(key);
  if (it == connections_.end()) return nullptr;
  for (const auto& c : it->second) {
    if (c->usable()) return c;
  }
  return nullptr;
}

void H2ClientPool::add(std::shared_ptr<H2ClientConnection> connection) {
  auto& list = connections_[connection->pool_key()];
  std::erase_if(list, [](const auto& c) { return c->ended(); });
  list.push_back(std::move(connection));
}

void H2ClientPool::sweep() {
  auto now = Clock::now();
  for (auto it = connections_.begin(); it != connections_.end();) {
    auto& list = it->second;
    for (auto& c : list) {
      if (c->streams() == 0 && now - c->idle_since() >= idle_timeout_) c->close();
    }
    std::erase_if(list, [](const auto& c) { return c->ended(); });
    it = list.empty() ? connections_.erase(it) : std::next(it);
  }
}

void H2ClientPool::clear() {
  for (auto& [key, list] : connections_) {
    for (auto& c : list) c->close();
  }
  connections_.clear();
}

}  // namespace portico::proxy
