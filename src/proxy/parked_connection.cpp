#include "proxy/parked_connection.hpp"

#include <boost/asio/buffer.hpp>

#include "core/worker.hpp"
#include "http/status.hpp"
#include "net/connections_per_address.hpp"
#include "proxy/downstream_connection.hpp"

namespace portico::proxy {

ParkedConnection::ParkedConnection(Worker& w, Socket s)
    : worker(w), socket(std::move(s)), deadline(w.deadlines(), nullptr) {
  deadline.wake_instead(&cancel_socket, this);
  worker.connection_parked(*this);
}

ParkedConnection::~ParkedConnection() {
  worker.connection_unparked(*this);
  if (resumed) return;
  if (per_client != nullptr) per_client->give_back(peer.ip);
  boost::system::error_code ignored;
  socket.close(ignored);
  worker.client_disconnected();
}

std::unique_ptr<ParkedConnection> ParkedConnection::accept(Worker& worker, Socket socket, net::ClientPeer peer,
                                                           const ListenerInfo& listener,
                                                           net::ConnectionsPerAddress* per_client) {
  auto p = std::make_unique<ParkedConnection>(worker, std::move(socket));
  p->peer = std::move(peer);
  p->listener = &listener;
  p->per_client = per_client;
  return p;
}

void ParkedConnection::wait(std::unique_ptr<ParkedConnection> self, std::chrono::milliseconds keepalive) {
  ParkedConnection& p = *self;
  if (p.partial) {
    const auto header_timeout = p.worker.options().client_header_timeout;
    p.deadline.arm_by(p.partial->started + header_timeout, header_timeout);
  } else {
    p.deadline.arm(keepalive);
  }
  // A read, not async_wait: Asio's reactor keeps the registered descriptor as it is (an
  // async_wait costs an epoll_ctl each time).
  p.socket.async_read_some(boost::asio::buffer(p.first_bytes),
                           [self = std::move(self)](const boost::system::error_code& ec, std::size_t got) mutable {
                             self->deadline.disarm();
                             if (self->deadline.expired() && self->partial) self->head_timed_out();
                             // EOF, a reset, the keep-alive deadline or a drain: `self` ends it.
                             if (ec || self->deadline.expired() || self->worker.draining()) return;
                             // (waiting for the rest of a head: its own deadline, not keep-alive's)
                             if (self->keeps_partial_head(got)) return wait(std::move(self), {});
                             DownstreamConnection::resume(std::move(self), got);
                           });
}

bool ParkedConnection::keeps_partial_head(std::size_t got) {
  const std::string_view fresh(first_bytes.data(), got);
  const auto& limits = worker.options().limits;
  if (partial) {
    const std::size_t scanned = partial->bytes.size();
    partial->bytes.append(fresh);
    return got < first_bytes.size() && partial->bytes.size() <= kMaxPartialHead &&
           !head_worth_parsing(partial->bytes, scanned, limits);
  }
  // (a full read: more may be waiting, which the connection reads at once)
  if (got == first_bytes.size() || head_worth_parsing(fresh, 0, limits)) return false;
  hold_partial_head(std::string(fresh), std::chrono::steady_clock::now());
  return true;
}

void ParkedConnection::hold_partial_head(std::string bytes, std::chrono::steady_clock::time_point started) {
  partial = std::make_unique<PartialHead>(PartialHead{std::move(bytes), started});
  worker.parked_head_begins();
}

void ParkedConnection::head_timed_out() {
  static const std::string kTimedOut = http::json_error_response(408, "timed out reading the request head", true);
  worker.stats().responses_4xx.add();
  boost::system::error_code ignored;
  socket.write_some(boost::asio::buffer(kTimedOut), ignored);  // (non-blocking: what the kernel takes)
}

void ParkedConnection::cancel_socket(void* parked) { static_cast<ParkedConnection*>(parked)->close_now(); }

void ParkedConnection::close_now() {
  boost::system::error_code ignored;
  socket.cancel(ignored);
}

}  // namespace portico::proxy
