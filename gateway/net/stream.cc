#include "gateway/net/stream.h"

#include <arpa/inet.h>

namespace bordergate {
namespace {
constexpr size_t kReadBuffer = 64 * 1024;
// One read and one decrypt buffer per loop thread: every read is consumed
// synchronously in its callback, so they can be shared by all streams.
thread_local char t_read_buffer[kReadBuffer];
thread_local char t_plain_buffer[kReadBuffer];
// TLS-in-TLS: the outer layer's plaintext, which is the inner layer's input while that decrypts
// into t_plain_buffer.
thread_local char t_outer_buffer[kReadBuffer];
}  // namespace

Stream::Stream(uv_loop_t* loop, StreamHandler& handler) : tcp_(new uv_tcp_t{}), handler_(handler) {
  if (uv_tcp_init(loop, tcp_) == 0) initialized_ = true;
  tcp_->data = this;
}

Stream::~Stream() {
  if (tcp_ == nullptr) return;
  // The owner is going away without waiting for on_stream_closed: detach so
  // late callbacks find no owner, and let libuv free the box.
  tcp_->data = nullptr;
  if (!initialized_) {
    delete tcp_;
  } else if (uv_is_closing(reinterpret_cast<uv_handle_t*>(tcp_)) == 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), &Stream::on_close);
  }
}

int Stream::accept(uv_stream_t* server) {
  int r = uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp_));
  if (r == 0) uv_tcp_nodelay(tcp_, 1);
  return r;
}

int Stream::connect(const sockaddr* addr) {
  auto* req = new uv_connect_t{};
  int r = uv_tcp_connect(req, tcp_, addr, &Stream::on_connect);
  if (r != 0) delete req;
  return r;
}

Status Stream::start_tls(SSL_CTX* ctx, bool server, const std::string& verify_name,
                         bool verify_ip) {
  if (outer_ && !outer_->established()) {
    return make_error("tls_setup_failed", "inner TLS before the outer handshake completed");
  }
  tls_ = std::make_unique<TlsSession>(ctx, server);
  if (!tls_->valid()) return make_error("tls_setup_failed", openssl_error_text());
  if (!server) {
    if (Status s = tls_->set_client_target(verify_name, verify_ip); !s) return s;
    tls_->handshake();  // produces the ClientHello
    drain_tls_output();
    flush();
  }
  return {};
}

Status Stream::start_outer_tls(SSL_CTX* ctx) {
  if (tls_ || outer_) return make_error("tls_setup_failed", "TLS already started");
  outer_ = std::make_unique<TlsSession>(ctx, true);
  if (!outer_->valid()) return make_error("tls_setup_failed", openssl_error_text());
  return {};
}

// Both are no-ops when nothing changes: each real switch costs an epoll_ctl.
void Stream::read_start() {
  if (closing_ || reading_ || reported_end_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &Stream::on_alloc, &Stream::on_read) ==
      0) {
    reading_ = true;
  }
}

void Stream::read_stop() {
  if (closing_ || !reading_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  reading_ = false;
}

void Stream::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  buf->base = t_read_buffer;
  buf->len = kReadBuffer;
}

void Stream::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Stream*>(s->data);
  if (self == nullptr) return;
  if (self->closing_) {
    // Lingering close: input is discarded until the peer finishes, so our
    // last response is not destroyed by a reset for unread data.
    if (n < 0) {
      self->peer_done_ = true;
      if (self->write_shut_) self->close();
    }
    return;
  }
  if (n < 0) {
    self->fail(static_cast<int>(n), false);
    return;
  }
  if (n == 0) return;
  if (self->outer_) {
    self->run_layer(*self->outer_, true, buf->base, static_cast<size_t>(n));
  } else {
    self->handle_inner(buf->base, static_cast<size_t>(n));
  }
}

void Stream::feed_received(const char* data, size_t len) {
  if (closing_ || reported_end_ || len == 0) return;
  handle_inner(data, len);
}

void Stream::handle_inner(const char* data, size_t len) {
  if (tls_) {
    run_layer(*tls_, false, data, len);
  } else {
    handler_.on_stream_data(data, len);
  }
}

void Stream::run_layer(TlsSession& session, bool outer, const char* data, size_t len) {
  session.feed(data, len);
  if (!session.established()) {
    TlsSession::Step step = session.handshake();
    drain_tls_output();
    flush();
    if (step == TlsSession::Step::failed) {
      fail(UV_EPROTO, true);
      return;
    }
    if (step == TlsSession::Step::closed) {
      fail(UV_EOF, false);
      return;
    }
    if (step == TlsSession::Step::again) return;
    handler_.on_stream_tls_ready();
    if (closing_ || reported_end_) return;
  }
  char* buffer = outer ? t_outer_buffer : t_plain_buffer;
  for (;;) {
    long n = session.read(buffer, kReadBuffer);
    if (n > 0) {
      if (outer) {
        handle_inner(buffer, static_cast<size_t>(n));
      } else {
        handler_.on_stream_data(buffer, static_cast<size_t>(n));
      }
      if (closing_ || reported_end_) return;
      continue;
    }
    // Session tickets and key updates may need to be sent.
    if (session.has_output()) {
      drain_tls_output();
      flush();
    }
    if (n == -1)
      fail(UV_EOF, false);
    else if (n == -2)
      fail(UV_EPROTO, true);
    return;
  }
}

void Stream::fail(int status, bool tls_failure) {
  if (reported_end_) return;
  reported_end_ = true;
  read_stop();
  handler_.on_stream_end(status, tls_failure);
}

void Stream::write(std::string_view data) {
  if (closing_ || data.empty()) return;
  // With TLS, plaintext is gathered and encrypted once per flush: a response
  // head and its body then share records instead of one record per write.
  (tls_ || outer_ ? plain_ : out_).append(data);
}

bool Stream::drain_tls_output() {
  if (!outer_) {
    if (tls_) tls_->drain_output(out_);
    return true;
  }
  bool ok = true;
  if (tls_ && tls_->has_output()) {
    inner_records_.clear();
    tls_->drain_output(inner_records_);
    ok = outer_->write(inner_records_);
    if (inner_records_.capacity() > 256 * 1024) {
      inner_records_.clear();
      inner_records_.shrink_to_fit();
    }
  }
  outer_->drain_output(out_);
  return ok;
}

void Stream::encrypt_pending() {
  if (plain_.empty()) return;
  TlsSession* layer = tls_ ? tls_.get() : outer_.get();
  if (layer == nullptr) return;
  bool ok = layer->write(plain_);
  plain_.clear();
  if (plain_.capacity() > 256 * 1024) plain_.shrink_to_fit();
  ok = drain_tls_output() && ok;
  if (!ok) fail(UV_EPROTO, true);
}

void Stream::flush() {
  if (closing_ && !close_after_writes_) return;
  encrypt_pending();
  if (out_.empty()) return;
  size_t written = 0;
  if (in_flight_ == 0) {
    // Nearly every answer fits the socket buffer: write it now, without a write request. A
    // completed uv_write costs a callback and, in libuv's drain bookkeeping, an epoll_ctl per
    // write. Whatever is left (or any error) takes the uv_write path, which reports it.
    uv_buf_t now = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    const int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &now, 1);
    if (n > 0) written = static_cast<size_t>(n);
    if (written == out_.size()) {
      out_.clear();
      return;
    }
  }
  std::unique_ptr<WriteReq> w = spare_ ? std::move(spare_) : std::make_unique<WriteReq>();
  if (written == 0) {
    w->data.swap(out_);
  } else {
    w->data.assign(out_, written);
  }
  out_.clear();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  in_flight_ += w->data.size();
  WriteReq* raw = w.release();
  raw->req.data = raw;
  int r = uv_write(&raw->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1, &Stream::on_write);
  if (r != 0) {
    in_flight_ -= raw->data.size();
    delete raw;
    fail(r, false);
  }
}

void Stream::on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
  auto* self = static_cast<Stream*>(req->handle->data);
  if (self == nullptr) return;
  self->in_flight_ -= w->data.size();
  if (!self->spare_ && w->data.capacity() <= 256 * 1024) {
    w->data.clear();
    self->spare_ = std::move(w);
  }
  if (status < 0) {
    if (self->close_after_writes_)
      self->close();
    else if (!self->closing_)
      self->fail(status, false);
    return;
  }
  if (self->in_flight_ == 0) {
    if (self->close_after_writes_) {
      self->shutdown_write();
      return;
    }
    if (!self->closing_) self->handler_.on_stream_drained();
  }
}

void Stream::shutdown_write() {
  close_after_writes_ = false;
  auto* req = new uv_shutdown_t{};
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(tcp_), &Stream::on_shutdown) != 0) {
    delete req;
    close();
  }
}

void Stream::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Stream*>(req->handle->data);
  delete req;
  if (self == nullptr) return;
  self->write_shut_ = true;
  // Wait for the peer's FIN (the owner's timer bounds the wait) unless it
  // already came or the shutdown failed.
  if (status != 0 || self->peer_done_ || !self->reading_) self->close();
}

void Stream::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<Stream*>(req->handle->data);
  delete req;
  if (self == nullptr || self->closing_) return;
  if (status == 0) uv_tcp_nodelay(self->tcp_, 1);
  self->handler_.on_stream_connected(status);
}

void Stream::close_gracefully() {
  if (closing_) return;
  if (tls_ || outer_) {
    encrypt_pending();
    // Inner close_notify first, inside the outer layer, then the outer one.
    if (tls_) tls_->shutdown();
    drain_tls_output();
    if (outer_) {
      outer_->shutdown();
      outer_->drain_output(out_);
    }
  }
  peer_done_ = reported_end_;
  if (!peer_done_ && !reading_) {
    // Keep reading (and discarding) while our last bytes drain.
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &Stream::on_alloc, &Stream::on_read) ==
        0) {
      reading_ = true;
    }
  }
  close_after_writes_ = true;
  closing_ = true;
  flush();
  if (in_flight_ == 0 && close_after_writes_) shutdown_write();
}

void Stream::close() {
  if (tcp_ == nullptr) return;
  if (closing_ && close_after_writes_) close_after_writes_ = false;
  bool was_closing_handle = uv_is_closing(reinterpret_cast<uv_handle_t*>(tcp_)) != 0;
  closing_ = true;
  if (!initialized_) return;
  if (!was_closing_handle) uv_close(reinterpret_cast<uv_handle_t*>(tcp_), &Stream::on_close);
}

void Stream::on_close(uv_handle_t* h) {
  auto* self = static_cast<Stream*>(h->data);
  delete reinterpret_cast<uv_tcp_t*>(h);
  if (self == nullptr) return;
  self->tcp_ = nullptr;
  self->handler_.on_stream_closed();
}

std::string Stream::peer_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (tcp_ == nullptr || uv_tcp_getpeername(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return {};
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<sockaddr_in*>(&ss), buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&ss), buf, sizeof buf);
  }
  return buf;
}

}  // namespace bordergate
