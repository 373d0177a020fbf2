#include "proxy/parked_connection.hpp"

#include <boost/asio/buffer.hpp>

#include "core/worker.hpp"
#include "net/cidr.hpp"
#include "net/connections_per_address.hpp"
#include "net/real_ip.hpp"
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
  if (per_client != nullptr) per_client->give_back(client_ip);
  boost::system::error_code ignored;
  socket.close(ignored);
  worker.client_disconnected();
}

std::unique_ptr<ParkedConnection> ParkedConnection::accept(Worker& worker, Socket socket, int local_port, bool http2) {
  auto p = std::make_unique<ParkedConnection>(worker, std::move(socket));
  if (auto address = net::peer_address(p->socket)) {
    p->client_ip = address->to_string();
    p->trusted_peer = net::any_contains(worker.options().trusted_ips, *address);
  }
  boost::system::error_code ignored;
  p->socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  p->socket.non_blocking(true, ignored);  // the connection's reads and writes try the kernel first
  p->local_port = local_port;
  p->http2 = http2;
  return p;
}

void ParkedConnection::wait(std::unique_ptr<ParkedConnection> self, std::chrono::milliseconds keepalive) {
  ParkedConnection& p = *self;
  p.deadline.arm(keepalive);
  // A read, not async_wait: Asio's reactor keeps the registered descriptor as it is (an
  // async_wait costs an epoll_ctl each time).
  p.socket.async_read_some(boost::asio::buffer(p.first_bytes),
                           [self = std::move(self)](const boost::system::error_code& ec, std::size_t got) mutable {
                             self->deadline.disarm();
                             // EOF, a reset, the keep-alive deadline or a drain: `self` ends it.
                             if (ec || self->deadline.expired() || self->worker.draining()) return;
                             DownstreamConnection::resume(std::move(self), got);
                           });
}

void ParkedConnection::cancel_socket(void* parked) { static_cast<ParkedConnection*>(parked)->close_now(); }

void ParkedConnection::close_now() {
  boost::system::error_code ignored;
  socket.cancel(ignored);
}

}  // namespace portico::proxy
