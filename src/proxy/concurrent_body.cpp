#include "proxy/concurrent_body.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/deadline.hpp"
#include "proxy/h2_client.hpp"

namespace portico::proxy {

namespace asio = boost::asio;

namespace {
constexpr auto kForever = std::chrono::steady_clock::time_point::max();

// The client's stream as the pump's source, until cancelled: then every read fails and the
// stream itself is never touched again (it may be gone by the time the pump resumes).
class Gate final : public StreamTransport {
 public:
  explicit Gate(StreamTransport& inner) : inner_(&inner) {}
  std::size_t read(char* data, std::size_t size, error_code& ec) override {
    if (cancelled_) {
      ec = asio::error::connection_reset;
      return 0;
    }
    return inner_->read(data, size, ec);
  }
  std::size_t write(Buffers, std::size_t, error_code& ec) override {
    ec = asio::error::operation_not_supported;  // (the pump only reads its source)
    return 0;
  }
  asio::awaitable<void> wait_readable() override {
    if (cancelled_) co_return;
    co_await inner_->wait_readable();
  }
  asio::awaitable<void> wait_writable() override { co_return; }
  void interrupt() override {
    if (!cancelled_) inner_->interrupt();
  }
  void cancel() {
    if (cancelled_) return;
    inner_->interrupt();  // (a pending wait returns; the read after it fails)
    cancelled_ = true;
  }
  static void wake(void* self) { static_cast<Gate*>(self)->interrupt(); }

 private:
  StreamTransport* inner_;
  bool cancelled_ = false;
};
}  // namespace

struct ConcurrentBody::State {
  State(DeadlineQueue& deadlines, BufferPool& buffers, StreamTransport& client, std::chrono::milliseconds client_timeout,
        std::shared_ptr<H2ClientStream> upstream_stream, std::chrono::milliseconds upstream_timeout, PumpSpec pump_spec,
        const asio::any_io_executor& executor)
      : gate(client),
        unused_socket(executor),
        client_read(deadlines, nullptr),
        upstream_write(deadlines, nullptr),
        upstream(std::move(upstream_stream)),
        client_side{unused_socket, client_buffer, client_read, client_timeout, client_timeout, nullptr, &gate},
        upstream_side{unused_socket, upstream_buffer, upstream_write, upstream_timeout, upstream_timeout, nullptr,
                      upstream.get()},
        spec(std::move(pump_spec)),
        done_signal(executor, kForever) {
    client_buffer.attach(&buffers);
    client_read.wake_instead(&Gate::wake, &gate);
    upstream_write.wake_instead(&H2ClientStream::wake, upstream.get());
  }

  Gate gate;
  asio::ip::tcp::socket unused_socket;  // (a Side names one; streams never use it)
  ByteBuffer client_buffer;
  ByteBuffer upstream_buffer;
  Deadline client_read;
  Deadline upstream_write;
  std::shared_ptr<H2ClientStream> upstream;
  Side client_side;
  Side upstream_side;
  PumpSpec spec;
  PumpResult result;
  std::string kept;
  bool keeping = false;
  bool done = false;
  asio::steady_timer done_signal;
};

namespace {
asio::awaitable<void> pump(std::shared_ptr<ConcurrentBody::State> s) {
  s->result = co_await pump_body(s->client_side, s->upstream_side, s->spec);
  // A body that did not make it (the client reset or went quiet) must not leave the service
  // waiting for the rest.
  if (!s->result.ok()) s->upstream->cancel();
  s->client_buffer.consume(s->client_buffer.size());
  s->client_buffer.release();
  s->done = true;
  s->done_signal.cancel();
}
}  // namespace

std::unique_ptr<ConcurrentBody> ConcurrentBody::start(DeadlineQueue& deadlines, BufferPool& buffers,
                                                      StreamTransport& client, ByteBuffer& already_read,
                                                      std::chrono::milliseconds client_timeout,
                                                      std::shared_ptr<H2ClientStream> upstream,
                                                      std::chrono::milliseconds upstream_timeout, PumpSpec spec,
                                                      std::size_t keep_max) {
  auto executor = upstream->executor();
  auto state = std::make_shared<State>(deadlines, buffers, client, client_timeout, std::move(upstream), upstream_timeout,
                                       std::move(spec), executor);
  if (keep_max > 0) {
    state->keeping = true;
    state->spec.tee = &state->kept;
    state->spec.tee_max = keep_max;
  }
  // The body bytes read with the head move to the pump's own buffer.
  ByteBuffer& own = state->client_buffer;
  own.acquire();
  if (already_read.size() > own.writable()) own.grow(already_read.size());
  std::string_view bytes = already_read.readable();
  std::memcpy(own.write_ptr(), bytes.data(), bytes.size());
  own.commit(bytes.size());
  already_read.consume(bytes.size());
  asio::co_spawn(executor, pump(state), asio::detached);
  return std::unique_ptr<ConcurrentBody>(new ConcurrentBody(std::move(state)));
}

ConcurrentBody::~ConcurrentBody() {
  if (state_->done) return;
  state_->gate.cancel();
  state_->upstream->cancel();
}

asio::awaitable<void> ConcurrentBody::settle() {
  std::shared_ptr<State> s = state_;
  while (!s->done) {
    s->done_signal.expires_at(kForever);
    auto [ec] = co_await s->done_signal.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
}

std::string* ConcurrentBody::kept_body() {
  const State& s = *state_;
  if (!s.keeping || !s.done || !s.result.ok() || s.result.tee_overflowed) return nullptr;
  return &state_->kept;
}

asio::awaitable<PumpResult> ConcurrentBody::finish() {
  std::shared_ptr<State> s = state_;
  if (!s->done) {
    s->gate.cancel();
    s->upstream->interrupt();  // a write waiting for the service's window looks again
  }
  co_await settle();
  co_return s->result;
}

}  // namespace portico::proxy
