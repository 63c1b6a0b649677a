#include "gateway/proxy/upstream_connection.h"

#include "gateway/common/log.h"
#include "gateway/proxy/upstream_pool.h"

namespace bordergate {
namespace {

UpstreamErrorKind kind_of(int uv_status, bool tls_failure) {
  if (tls_failure) return UpstreamErrorKind::tls;
  switch (uv_status) {
    case UV_ECONNREFUSED:
      return UpstreamErrorKind::connect_refused;
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_EOF:
      return UpstreamErrorKind::reset;
    case UV_ETIMEDOUT:
      return UpstreamErrorKind::connect_timeout;
    default:
      return UpstreamErrorKind::other;
  }
}

}  // namespace

UpstreamConnection::UpstreamConnection(UpstreamPool& pool, uv_loop_t* loop,
                                       std::shared_ptr<const Runtime> runtime)
    : pool_(pool),
      runtime_(std::move(runtime)),
      stream_(loop, *this),
      timer_(loop, &UpstreamConnection::on_timer, this),
      parser_(*this) {
  connect();
}

void UpstreamConnection::connect() {
  timer_.start(static_cast<uint64_t>(runtime_->config->upstream.connect_timeout.count()));
  int r = stream_.connect(runtime_->upstream_address.get());
  if (r != 0) {
    // Reported from send() once a client is attached: keep the state.
    state_ = State::closed;
    connect_error_ = uv_strerror(r);
  }
}

void UpstreamConnection::send(std::string_view head, std::string_view body, bool head_request,
                              UpstreamClient* client) {
  client_ = client;
  head_request_ = head_request;
  parser_.start(head_request);
  if (state_ == State::closed) {
    std::string detail = "cannot connect to Core: " + connect_error_;
    fail(UpstreamErrorKind::other, detail, false);
    return;
  }
  if (state_ == State::idle || state_ == State::ready) {
    timer_.stop();
    state_ = State::busy;
    if (!reading_) resume_reading();
    stream_.write(head);
    stream_.write(body);
    stream_.flush();
    timer_.start(static_cast<uint64_t>(runtime_->config->upstream.response_timeout.count()));
    return;
  }
  pending_request_.reserve(head.size() + body.size());  // connecting or handshaking
  pending_request_.assign(head);
  pending_request_.append(body);
}

void UpstreamConnection::on_stream_connected(int status) {
  if (status != 0) {
    fail(kind_of(status, false), std::string("cannot connect to Core: ") + uv_strerror(status),
         false);
    return;
  }
  stream_.read_start();
  if (runtime_->upstream_tls) {
    state_ = State::handshaking;
    const ClientTls& tls = *runtime_->upstream_tls;
    Status s = stream_.start_tls(tls.context(), false, tls.verify_name(), tls.name_is_ip());
    if (!s) fail(UpstreamErrorKind::tls, s.error().message, false);
    return;
  }
  ready();
}

void UpstreamConnection::on_stream_tls_ready() { ready(); }

void UpstreamConnection::ready() {
  timer_.stop();
  if (client_ == nullptr) {
    state_ = State::ready;
    return;
  }
  state_ = State::busy;
  stream_.write(pending_request_);
  stream_.flush();
  pending_request_.clear();
  pending_request_.shrink_to_fit();  // may have held a large body
  timer_.start(static_cast<uint64_t>(runtime_->config->upstream.response_timeout.count()));
}

void UpstreamConnection::on_stream_data(const char* data, size_t len) {
  if (state_ != State::busy) {
    // Core talking on an idle connection (or closing it with a 408): drop it.
    close();
    return;
  }
  // Any byte from Core restarts the inactivity clock.
  timer_.start(static_cast<uint64_t>(runtime_->config->upstream.response_timeout.count()));
  if (!parser_.feed(data, len)) {
    fail(UpstreamErrorKind::protocol, parser_.error(), false);
    return;
  }
  // A callback may have detached the client and closed this connection.
  if (state_ != State::busy) return;
  if (parser_.complete()) {
    finish_exchange();
  } else if (client_ != nullptr) {
    client_->on_upstream_batch_end();
  }
}

void UpstreamConnection::on_stream_end(int uv_status, bool tls_failure) {
  if (state_ == State::busy && parser_.head_received() && !parser_.complete()) {
    // A close-delimited body ends here.
    if (uv_status == UV_EOF && parser_.finish() && state_ == State::busy) {
      finish_exchange();  // keep_alive() is false for close-delimited bodies
      return;
    }
  }
  if (state_ == State::busy || state_ == State::connecting || state_ == State::handshaking) {
    bool retryable = reused() && !parser_.started() && !tls_failure;
    std::string detail = tls_failure
                             ? "TLS with Core failed: " + stream_.tls()->last_error()
                             : std::string("connection to Core lost: ") + uv_strerror(uv_status);
    fail(kind_of(uv_status, tls_failure), detail, retryable);
    return;
  }
  close();
}

void UpstreamConnection::on_response_head(HttpResponseHead& head) {
  pool_.note_upstream_ok();
  if (client_ != nullptr) client_->on_upstream_head(head);
}

void UpstreamConnection::on_response_body(const char* data, size_t len) {
  if (client_ != nullptr) client_->on_upstream_body(data, len);
}

void UpstreamConnection::on_response_complete() {
  // Runs inside llhttp_execute: only note it; finish_exchange() runs once the
  // parser has returned, because the client may reuse this connection at once.
  timer_.stop();
}

void UpstreamConnection::finish_exchange() {
  ++exchanges_;
  UpstreamClient* client = client_;
  client_ = nullptr;
  state_ = State::ready;
  pool_.release(this, parser_.keep_alive());
  if (client != nullptr) client->on_upstream_complete();
}

void UpstreamConnection::detach() {
  client_ = nullptr;
  close();
}

void UpstreamConnection::pause_reading() {
  if (reading_) {
    reading_ = false;
    stream_.read_stop();
  }
}

void UpstreamConnection::resume_reading() {
  if (!reading_) {
    reading_ = true;
    stream_.read_start();
  }
}

void UpstreamConnection::park() {
  state_ = State::idle;
  timer_.start(static_cast<uint64_t>(runtime_->config->upstream.idle_timeout.count()));
}

void UpstreamConnection::fail(UpstreamErrorKind kind, const std::string& detail, bool retryable) {
  UpstreamClient* client = client_;
  client_ = nullptr;
  close();
  if (kind == UpstreamErrorKind::connect_refused || kind == UpstreamErrorKind::connect_timeout ||
      kind == UpstreamErrorKind::tls) {
    pool_.note_upstream_failure();
  }
  if (client != nullptr) {
    pool_.metrics().upstream_error(kind);
    client->on_upstream_failed(kind, detail, retryable);
  }
}

void UpstreamConnection::close() {
  if (state_ == State::closed && stream_.closing()) return;
  bool was_idle = state_ == State::idle;
  state_ = State::closed;
  timer_.stop();
  if (was_idle) pool_.remove_idle(this);
  stream_.close();
}

void UpstreamConnection::on_stream_closed() {
  pool_.forget(this);
  delete this;
}

void UpstreamConnection::on_timer(void* p) {
  auto* self = static_cast<UpstreamConnection*>(p);
  switch (self->state_) {
    case State::connecting:
    case State::handshaking:
      self->fail(UpstreamErrorKind::connect_timeout, "timed out connecting to Core", false);
      break;
    case State::busy:
      self->fail(UpstreamErrorKind::response_timeout, "Core did not answer in time", false);
      break;
    default:
      self->close();
  }
}

}  // namespace bordergate
