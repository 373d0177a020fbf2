#include "proxy/h2_server.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "proxy/h2_frames.hpp"
#include "proxy/h2_stream.hpp"

namespace portico::proxy {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kForever = Clock::time_point::max();

asio::awaitable<void> wait_for(asio::steady_timer& signal) {
  signal.expires_at(kForever);
  auto [ec] = co_await signal.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;  // cancel() is the wake-up
}
}  // namespace

// nghttp2's callbacks, with the server as user data.
struct H2Server::Callbacks {
  static H2Server& self(void* user) { return *static_cast<H2Server*>(user); }

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2Server& s = self(user);
    s.header_block_bytes_ = 0;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    std::int32_t id = frame->hd.stream_id;
    s.note_opened(id);
    // Lifecycles still running after a reset count: cancelled work cannot pile up.
    if (s.lifecycles_ >= s.settings_.max_concurrent_streams) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    s.streams_.emplace(id, s.new_stream(id));
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    H2Server& s = self(user);
    // HPACK bombs and endless CONTINUATIONs: the decoded size of one block is capped.
    s.header_block_bytes_ += namelen + valuelen + 32;  // (RFC 9113 6.5.2's accounting)
    if (s.header_block_bytes_ > s.header_block_cap()) {
      s.goaway_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers are not forwarded
    if (H2Stream* stream = s.find(frame->hd.stream_id)) {
      stream->request_fields().add({reinterpret_cast<const char*>(name), namelen},
                                   {reinterpret_cast<const char*>(value), valuelen});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Server& s = self(user);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        H2Stream* stream = s.find(frame->hd.stream_id);
        if (stream == nullptr) return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          stream->headers_done(end_stream);
          stream->lifecycle_started();
          ++s.lifecycles_;
          s.start_(*stream);
        } else if (end_stream) {
          stream->request_ended();  // after trailers
        }
        return 0;
      }
      case NGHTTP2_DATA:
        if (end_stream) {
          if (H2Stream* stream = s.find(frame->hd.stream_id)) stream->request_ended();
        } else if (frame->hd.length == 0 && !s.spend_control_budget()) {
          return NGHTTP2_ERR_CALLBACK_FAILURE;  // empty DATA frames flood
        }
        return 0;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) return 0;
        [[fallthrough]];
      case NGHTTP2_RST_STREAM:
        return s.spend_control_budget() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      default:
        return 0;
    }
  }

  // Every frame's header, before nghttp2 acts on it: PRIORITY frames count against the
  // control-frame budget, and a HEADERS frame on a never-opened lower id is refused.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    H2Server& s = self(user);
    if (hd->type == NGHTTP2_HEADERS && s.never_opened(hd->stream_id)) {
      s.goaway_code_ = NGHTTP2_PROTOCOL_ERROR;
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (hd->type != NGHTTP2_PRIORITY) return 0;
    if (hd->stream_id == 0) {
      s.goaway_code_ = NGHTTP2_PROTOCOL_ERROR;
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return s.spend_control_budget() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t len, void* user) {
    H2Server& s = self(user);
    H2Stream* stream = s.find(stream_id);
    if (stream != nullptr && stream->lifecycle_running()) {
      stream->receive_data(data, len);
    } else {
      nghttp2_session_consume(session, stream_id, len);  // nobody reads it: keep the window open
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user) {
    H2Server& s = self(user);
    auto it = s.streams_.find(stream_id);
    if (it == s.streams_.end()) return 0;
    it->second->closed();
    if (!it->second->lifecycle_running()) s.retire(it);
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2Server& s = self(user);
    if (frame->hd.type == NGHTTP2_DATA) s.data_sent_ = true;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      // The response is complete but the request body is not: the client may stop sending
      // it (RFC 9113 8.1). (Not in a WebSocket tunnel: there the service ended its half, and
      // the client's may still carry the closing handshake.)
      H2Stream* stream = s.find(frame->hd.stream_id);
      if (stream != nullptr && !stream->request_complete() && !stream->tunnel_open()) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
      }
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    return static_cast<H2Stream*>(source->ptr)->take(buf, length, flags);
  }
};

H2Server::H2Server(Side reader, Side writer, Http2Settings settings, std::chrono::milliseconds idle_timeout,
                   obs::Counter& abuse_closed, StreamStarter start)
    : reader_(reader),
      writer_(writer),
      settings_(settings),
      start_(std::move(start)),
      idle_timeout_(idle_timeout),
      abuse_closed_(abuse_closed),
      budget_at_(Clock::now()),
      last_active_(Clock::now()),
      last_data_at_(Clock::now()),
      write_signal_(reader.socket.get_executor(), kForever),
      idle_timer_(reader.socket.get_executor(), kForever),
      done_signal_(reader.socket.get_executor(), kForever) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, Callbacks::on_begin_frame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, Callbacks::on_frame_send);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Window updates follow what the lifecycles read, not what arrived (flow control is real).
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_continuations(option, 8);
  // ACKs owed to a client that does not read: beyond this nghttp2 gives up on the connection
  // (above the frame budget, which answers a flood first).
  nghttp2_option_set_max_outbound_ack(option, 4 * static_cast<std::size_t>(kControlBurst));
  // nghttp2's own reset limit stays a backstop above the frame budget, which answers first.
  nghttp2_option_set_stream_reset_rate_limit(option, 2 * static_cast<std::uint64_t>(kControlBurst), 2 * kControlRate);
  nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // WebSocket over HTTP/2 (RFC 8441)
      // (RFC 7540 priorities are not declined: nghttp2 then checks them as RFC 9113 still
      // requires, a stream depending on itself for one, and keeps recently closed streams, so
      // frames on them are told from frames on idle ones.)
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  // The connection's window: every stream's at once, so one stream's unread body never
  // blocks the others.
  std::uint64_t window = std::uint64_t{settings_.max_concurrent_streams} * settings_.initial_window_size;
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(std::min<std::uint64_t>(window, NGHTTP2_MAX_WINDOW_SIZE)));
}

H2Server::~H2Server() {
  streams_.clear();
  nghttp2_session_del(session_);
}

H2Stream* H2Server::find(std::int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

std::unique_ptr<H2Stream> H2Server::new_stream(std::int32_t stream_id) {
  if (spare_.empty()) {
    return std::make_unique<H2Stream>(*this, stream_id, settings_.max_header_list_size, reader_.socket.get_executor());
  }
  std::unique_ptr<H2Stream> stream = std::move(spare_.back());
  spare_.pop_back();
  stream->reuse(stream_id);
  return stream;
}

void H2Server::retire(std::unordered_map<std::int32_t, std::unique_ptr<H2Stream>>::iterator it) {
  if (spare_.size() < settings_.max_concurrent_streams) {
    it->second->release_large_buffers();
    spare_.push_back(std::move(it->second));
  }
  streams_.erase(it);
}

void H2Server::note_opened(std::int32_t stream_id) {
  if (stream_id > highest_opened_) {
    // The ids skipped meanwhile were never opened (implicitly closed, RFC 9113 5.1.1).
    std::int32_t first = std::max(highest_opened_ + 2, stream_id - 2 * kOpenedWindow);
    for (std::int32_t id = first; id < stream_id; id += 2) opened_[(id / 2) % kOpenedWindow] = false;
    highest_opened_ = stream_id;
  }
  opened_[(stream_id / 2) % kOpenedWindow] = true;
}

bool H2Server::never_opened(std::int32_t stream_id) const {
  if (stream_id % 2 == 0 || stream_id >= highest_opened_) return false;  // (even ids: nghttp2's to refuse)
  if (highest_opened_ - stream_id >= 2 * kOpenedWindow) return false;      // too old to know
  return !opened_[(stream_id / 2) % kOpenedWindow];
}

asio::awaitable<void> H2Server::run() {
  co_await (read_loop() && write_loop() && watch_idle());
  // The connection is over: lifecycles still running see their stream reset.
  for (auto& [id, stream] : streams_) stream->abort();
  while (lifecycles_ > 0) co_await wait_for(done_signal_);
}

void H2Server::drain() {
  if (ended_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  kick();
}

void H2Server::terminate(std::uint32_t code) { nghttp2_session_terminate_session(session_, code); }

void H2Server::kick() { write_signal_.cancel(); }

bool H2Server::spend_control_budget() {
  auto now = Clock::now();
  control_budget_ = std::min(kControlBurst, control_budget_ + std::chrono::duration<double>(now - budget_at_).count() * kControlRate);
  budget_at_ = now;
  if (control_budget_ < 1) {
    goaway_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
    return false;
  }
  control_budget_ -= 1;
  return true;
}

asio::awaitable<void> H2Server::read_loop() {
  ByteBuffer& in = reader_.buffer;
  for (;;) {
    if (!in.empty()) {
      std::string_view data = in.readable();
      auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
      in.consume(data.size());
      last_active_ = Clock::now();
      if (rv < 0) {
        if (rv == NGHTTP2_ERR_CALLBACK_FAILURE && goaway_code_ != NGHTTP2_NO_ERROR) {
          if (goaway_code_ == NGHTTP2_ENHANCE_YOUR_CALM) {
            spdlog::debug("HTTP/2 connection ended by a defence: GOAWAY {}", nghttp2_http2_strerror(goaway_code_));
            abuse_closed_.add();
          }
          terminate(goaway_code_);
        } else if (rv == NGHTTP2_ERR_FLOODED) {
          abuse_closed_.add();  // (the client does not even read: no GOAWAY)
        } else {
          terminate(rv == NGHTTP2_ERR_CALLBACK_FAILURE ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_PROTOCOL_ERROR);
        }
        break;
      }
      kick();
    }
    if (ended_ || nghttp2_session_want_read(session_) == 0) break;
    error_code ec = co_await read_more(reader_);
    if (ec) break;  // the client is gone, or the writer ended the connection
  }
  ended_ = true;
  kick();
  idle_timer_.cancel();
}

asio::awaitable<bool> H2Server::flush() {
  for (;;) {
    data_sent_ = false;
    if (!gather_frames(session_, out_)) co_return false;
    note_output_progress();
    if (out_.empty()) co_return true;
    error_code ec = co_await write_all(writer_, out_);
    if (ec) co_return false;
  }
}

void H2Server::note_output_progress() {
  if (data_sent_) last_data_at_ = Clock::now();
  if (waiting_since_ == Clock::time_point{}) return;
  bool waiting = std::any_of(streams_.begin(), streams_.end(), [](const auto& s) { return s.second->has_queued_output(); });
  if (!waiting) waiting_since_ = {};
}

bool H2Server::stalled(Clock::time_point now) const {
  return waiting_since_ != Clock::time_point{} && now - std::max(waiting_since_, last_data_at_) >= writer_.write_timeout;
}

void H2Server::end_stalled() {
  spdlog::debug("HTTP/2 client's flow-control windows stayed closed for {} ms: GOAWAY", writer_.write_timeout.count());
  abuse_closed_.add();
  terminate(NGHTTP2_ENHANCE_YOUR_CALM);
  kick();
}

asio::awaitable<void> H2Server::write_loop() {
  for (;;) {
    if (!co_await flush()) break;
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) break;
    if (ended_ && nghttp2_session_want_write(session_) == 0) break;
    co_await wait_for(write_signal_);
  }
  ended_ = true;
  idle_timer_.cancel();
  error_code ignored;
  reader_.socket.cancel(ignored);  // the reader stops too
}

asio::awaitable<void> H2Server::watch_idle() {
  const auto keepalive = idle_timeout_;
  for (;;) {
    auto now = Clock::now();
    auto wake_at = kForever;
    if (lifecycles_ == 0 && streams_.empty()) {
      auto idle_at = last_active_ + keepalive;
      if (now >= idle_at) {
        terminate(NGHTTP2_NO_ERROR);  // idle: GOAWAY, then close
        kick();
        break;
      }
      wake_at = idle_at;
    } else if (stalled(now)) {
      end_stalled();
      break;
    } else {
      // Streams are open: look again within a write timeout (a stall is then found within two;
      // a stream whose lifecycle times out on a stall reports it at once, stream_finished())
      // and within the keep-alive timeout, so that when the streams end the connection's idle
      // deadline (last activity + keep-alive) is never already past: nothing has to wake the
      // watcher when a request ends.
      wake_at = now + std::min<Clock::duration>(writer_.write_timeout, keepalive);
    }
    idle_timer_.expires_at(wake_at);
    auto [ec] = co_await idle_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    if (ended_) break;
  }
}

const nghttp2_nv* H2Server::to_nva(const std::vector<http::H2Field>& fields) {
  // (nghttp2 copies the fields when a head is submitted: views are enough.)
  nva_.clear();
  for (const auto& f : fields) {
    nva_.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(f.name.data())),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(f.value.data())), f.name.size(),
                    f.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva_.data();
}

void H2Server::submit_interim(H2Stream& stream, const std::vector<http::H2Field>& fields) {
  nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream.id(), nullptr, to_nva(fields), fields.size(), nullptr);
  kick();
}

void H2Server::submit_response(H2Stream& stream, const std::vector<http::H2Field>& fields, bool body_follows) {
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = Callbacks::read_body;
  nghttp2_submit_response(session_, stream.id(), to_nva(fields), fields.size(), body_follows ? &provider : nullptr);
  kick();
}

void H2Server::submit_trailers(H2Stream& stream, const std::vector<http::H2Field>& fields) {
  nghttp2_submit_trailer(session_, stream.id(), to_nva(fields), fields.size());
}

void H2Server::resume(std::int32_t stream_id) {
  nghttp2_session_resume_data(session_, stream_id);
  kick();
}

void H2Server::reset(std::int32_t stream_id, std::uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  kick();
}

void H2Server::consume(std::int32_t stream_id, std::size_t bytes) {
  if (bytes == 0) return;
  nghttp2_session_consume(session_, stream_id, bytes);
  kick();
}

void H2Server::stream_finished(H2Stream& stream) {
  --lifecycles_;
  last_active_ = Clock::now();
  // A lifecycle that gave up with its response still queued, while nothing could be sent.
  if (stream.has_queued_output() && !ended_ && stalled(last_active_)) end_stalled();
  if (auto it = streams_.find(stream.id()); it != streams_.end() && stream.is_closed()) retire(it);
  if (lifecycles_ == 0 && ended_) done_signal_.cancel();  // run() waits for the last one
  kick();
}

}  // namespace portico::proxy
