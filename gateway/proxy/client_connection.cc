#include "gateway/proxy/client_connection.h"

#include <algorithm>
#include <charconv>

#include "gateway/common/log.h"
#include "gateway/enforcement/phases.h"
#include "gateway/proxy/federation.h"
#include "gateway/proxy/worker.h"

namespace bordergate {
namespace {

// Above this many bytes written but not yet acknowledged by the kernel, the
// upstream is paused until the client catches up.
constexpr size_t kHighWater = 1 << 20;
// Bytes of pipelined requests buffered while one is in flight before the
// client is no longer read (reading on keeps epoll quiet and notices resets).
constexpr size_t kMaxPipelined = 64 * 1024;

}  // namespace

ClientConnection::ClientConnection(Worker& worker, size_t listener_index,
                                   OutboundServices* outbound, outbound::ProxyListener listener)
    : worker_(worker),
      listener_index_(listener_index),
      runtime_(worker.runtime()),
      stream_(worker.loop(), *this),
      timer_(worker.loop(), &ClientConnection::on_timer, this),
      parser_(runtime_->limits),
      core_(worker),
      flow_(ctx_, core_, *this),
      outbound_(outbound),
      listener_(listener) {
  ctx_.request = &parser_.request();
  ctx_.client_ip = &client_ip_;
  // Keys come from the process-wide store; its answers reach this loop through the worker's
  // federation mailbox. Without a WorkerFederation (it failed to start) nothing verifies.
  if (WorkerFederation* federation = worker.federation()) {
    ctx_.keys = &federation->key_store();
    ctx_.mailbox = federation->mailbox();
  }
  // A closed connection resumes nothing (its request's callbacks are disarmed with it).
  ctx_.resume = [this] {
    if (state_ == State::in_flight) flow_.resume();
  };
  ctx_.offload = [&worker](std::function<void()> work, std::function<void()> done) {
    worker.run_off_loop(std::move(work), std::move(done));
  };
}

const LimitsConfig& ClientConnection::limits() const { return worker_.runtime()->config->limits; }

void ClientConnection::arm_timer(Millis timeout) {
  timer_.start(static_cast<uint64_t>(timeout.count()));
}

bool ClientConnection::accept(uv_stream_t* server) {
  if (stream_.accept(server) != 0) {
    close_now();
    return false;
  }
  counted_ = true;
  worker_.metrics().connection_opened();
  client_ip_ = stream_.peer_address();
  if (outbound_ != nullptr) return accept_outbound();
  Status s = stream_.start_tls(runtime_->listener_tls[listener_index_]->default_context(), true);
  if (!s) {
    log_event(LogLevel::error, "tls_setup_failed", {{"error", s.error().message}});
    close_now();
    return false;
  }
  // The handshake counts towards the first request's header timeout.
  arm_timer(limits().header_timeout);
  stream_.read_start();
  return true;
}

bool ClientConnection::accept_outbound() {
  // The Core's proxy listeners: only the configured client ranges. The settings in force at
  // accept stay this connection's to its end (a reload applies to connections accepted after
  // it). The tunnel front reads what comes first; on the TLS listener, inside the proxy's own
  // TLS, whose handshake comes first.
  outbound_settings_ = outbound_->settings();
  if (!outbound_settings_->client_allowed(client_ip_)) {
    worker_.metrics().connection_rejected();
    log_event(LogLevel::warn, "outbound_client_refused", {{"client", client_ip_}});
    close_now();
    return false;
  }
  TunnelFront::Env env;
  env.loop = worker_.loop();
  if (WorkerFederation* federation = worker_.federation()) {
    env.resolver = [federation](std::string_view name,
                                std::function<void(discovery::Discovery)> done) {
      federation->resolver().resolve(name, std::move(done));
    };
  }
  env.services = worker_.runtime()->enforcement;
  TunnelFront::Owner& owner = *this;
  front_ = std::make_unique<TunnelFront>(std::move(env), *outbound_, outbound_settings_, owner,
                                         client_ip_, listener_);
  state_ = State::front;
  if (listener_ == outbound::ProxyListener::connect_tls) {
    Status s = outbound_settings_->proxy_tls != nullptr
                   ? stream_.start_outer_tls(outbound_settings_->proxy_tls->default_context())
                   : Status(make_error("tls_setup_failed", "no proxy certificate"));
    if (!s) {
      log_event(LogLevel::error, "tls_setup_failed", {{"error", s.error().message}});
      close_now();
      return false;
    }
    state_ = State::front_tls;
  }
  // Bounds the proxy handshake and the front together on the TLS listener.
  arm_timer(outbound_settings_->config->head_timeout);
  stream_.read_start();
  return true;
}

void ClientConnection::on_stream_tls_ready() {
  if (state_ == State::front_tls) state_ = State::front;  // the front reads inside the proxy's TLS
  if (state_ == State::handshake) state_ = State::idle;
  if (draining_) close_now();
}

void ClientConnection::on_stream_data(const char* data, size_t len) {
  if (state_ == State::front) {
    front_->on_client_bytes(data, len);
    return;
  }
  if (state_ == State::in_flight) {
    // Bytes of a pipelined next request.
    pending_input_.append(data, len);
    if (pending_input_.size() > kMaxPipelined) stream_.read_stop();
    return;
  }
  if (state_ == State::closing || state_ == State::front_tls) return;
  process_input(data, len);
}

void ClientConnection::process_input(const char* data, size_t len) {
  while (len > 0 && (state_ == State::idle || state_ == State::reading)) {
    if (state_ == State::idle) {
      state_ = State::reading;
      ctx_.started = std::chrono::steady_clock::now();
      arm_timer(limits().header_timeout);
    }
    bool had_headers = parser_.headers_complete();
    RequestParser::Outcome out = parser_.feed(data, len);
    if (out.state == RequestParser::State::error) {
      refuse_unread(parser_.error());
      return;
    }
    if (!had_headers && parser_.headers_complete()) {
      arm_timer(limits().body_timeout);
      if (parser_.request().expect_continue && out.state != RequestParser::State::complete &&
          !continue_sent_) {
        // The body is wanted: say so now instead of letting the client wait.
        continue_sent_ = true;
        stream_.write("HTTP/1.1 100 Continue\r\n\r\n");
        stream_.flush();
      }
    }
    if (out.state == RequestParser::State::complete) {
      pending_input_.append(data + out.consumed, len - out.consumed);
      start_request();
      return;
    }
    data += out.consumed;
    len -= out.consumed;
  }
}

void ClientConnection::start_request() {
  timer_.stop();
  state_ = State::in_flight;
  ctx_.runtime = worker_.runtime();
  close_after_response_ =
      close_after_response_ || !parser_.request().keep_alive || draining_ || worker_.draining();
  flow_.start();
}

void ClientConnection::awaiting_keys(bool waiting) {
  if (waiting) {
    arm_timer(limits().key_wait_timeout);
  } else {
    timer_.stop();
  }
}

void ClientConnection::record_request() { flow_.record(worker_.metrics()); }

void ClientConnection::answer_head(const HttpResponseHead& head) {
  framing_ = downstream_framing(head, parser_.request().version_minor);
  if (framing_ == BodyFraming::close_delimited) close_after_response_ = true;
  std::string& out = worker_.scratch();
  out.clear();
  append_downstream_response_head(out, head, framing_, close_after_response_);
  stream_.write(out);
}

void ClientConnection::answer_body(std::string_view data) {
  if (framing_ == BodyFraming::chunked) {
    char size[24];
    auto r = std::to_chars(size, size + sizeof size - 2, data.size(), 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    stream_.write(std::string_view(size, static_cast<size_t>(r.ptr - size)));
    stream_.write(data);
    stream_.write("\r\n");
  } else {
    stream_.write(data);
  }
}

void ClientConnection::answer_flush() {
  stream_.flush();
  if (stream_.bytes_in_flight() > kHighWater && !waiting_drain_) {
    waiting_drain_ = true;
    flow_.pause_upstream();
    // A client that stops reading is cut off after the body timeout.
    arm_timer(limits().body_timeout);
  }
}

void ClientConnection::on_stream_drained() {
  if (state_ == State::front) return front_->on_client_drained();
  if (!waiting_drain_) return;
  waiting_drain_ = false;
  timer_.stop();
  if (held_body_) return write_held_body();
  flow_.resume_upstream();
}

void ClientConnection::answer_end() {
  if (framing_ == BodyFraming::chunked) stream_.write("0\r\n\r\n");
  stream_.flush();
  finish_request();
}

void ClientConnection::answer_cut() {
  record_request();
  close_now();
}

void ClientConnection::refuse_unread(const GatewayError& error) {
  // A request the gateway refused while reading it (HTTP framing, a size limit, a read timeout)
  // never reaches the phases, yet where requests are judged it is a decision like any other and
  // belongs in the audit log: a denial of an unrecognized endpoint, its reason from the status,
  // and the gateway's own text as the note (never the peer's bytes).
  ctx_.runtime = worker_.runtime();
  bordergate::refuse_unread(ctx_, error.status, error.reason);
  answer_error(error, true);
}

void ClientConnection::answer_error(const GatewayError& error, bool close_after) {
  ctx_.status = error.status;
  if (std::string_view(ctx_.outcome) == "forwarded") ctx_.outcome = "gateway_error";
  // Only the gateway's own answers pass here; a 200 is a withheld transaction.
  close_after_response_ = close_after_response_ || close_after;
  std::string& out = worker_.scratch();
  out.clear();
  append_error_response(out, error, close_after_response_, answer_to(parser_.request().method));
  stream_.write(out);
  stream_.flush();
  finish_request();
}

void ClientConnection::answer_whole(const HttpResponseHead& held,
                                    std::shared_ptr<const std::string> body, BudgetLease lease) {
  HttpResponseHead head;
  head.status = held.status;
  for (const HeaderField& h : held.headers) {
    // The body is buffered whole: its framing is the gateway's own Content-Length.
    if (iequals_lower(h.name, "content-length") || iequals_lower(h.name, "transfer-encoding"))
      continue;
    HeaderField& f = head.headers.add();
    f.name = h.name;
    f.value = h.value;
  }
  head.has_body = parser_.request().method != "HEAD" && head.status >= 200 && head.status != 204 &&
                  head.status != 304;
  if (head.has_body) {
    HeaderField& f = head.headers.add();
    f.name = "Content-Length";
    f.value = std::to_string(body->size());
    head.content_length = body->size();
  }
  ctx_.status = head.status;
  framing_ = head.has_body ? BodyFraming::content_length : BodyFraming::none;
  std::string& out = worker_.scratch();
  out.clear();
  append_downstream_response_head(out, head, framing_, close_after_response_);
  stream_.write(out);
  if (head.has_body && !body->empty()) {
    ctx_.response_bytes = body->size();
    held_body_ = std::move(body);
    held_sent_ = 0;
    held_lease_ = std::move(lease);
    return write_held_body();
  }
  stream_.flush();
  finish_request();
}

void ClientConnection::write_held_body() {
  constexpr std::size_t kPiece = 256 * 1024;
  const std::string_view body(*held_body_);
  while (held_sent_ < body.size()) {
    const std::size_t n = std::min(kPiece, body.size() - held_sent_);
    stream_.write(body.substr(held_sent_, n));
    held_sent_ += n;
    stream_.flush();
    if (state_ == State::closing) return;  // the socket failed
    if (held_sent_ < body.size() && stream_.bytes_in_flight() > kHighWater) {
      // on_stream_drained goes on; a client that stops reading is cut off after the body
      // timeout.
      waiting_drain_ = true;
      arm_timer(limits().body_timeout);
      return;
    }
  }
  held_body_.reset();
  held_sent_ = 0;
  held_lease_.release();
  finish_request();
}

void ClientConnection::finish_request() {
  record_request();
  waiting_drain_ = false;
  if (state_ == State::closing) return;  // the socket failed while answering
  if (close_after_response_ || draining_) {
    state_ = State::closing;
    // Bounds how long a client that does not read may hold the socket.
    arm_timer(limits().body_timeout);
    stream_.close_gracefully();
    return;
  }
  next_request();
}

void ClientConnection::next_request() {
  parser_.reset();
  parser_.set_limits(worker_.runtime()->limits);
  ctx_.reset();
  ctx_.request = &parser_.request();
  framing_ = BodyFraming::none;
  continue_sent_ = false;
  state_ = State::idle;
  arm_timer(limits().idle_timeout);
  if (dispatching_) {
    // Called from inside the loop below (a synchronous answer): let the
    // loop pick up the next pipelined request instead of recursing.
    resume_after_dispatch_ = true;
    return;
  }
  dispatching_ = true;
  std::string input;
  do {
    resume_after_dispatch_ = false;
    if (pending_input_.empty() || state_ != State::idle) break;
    input.clear();
    input.swap(pending_input_);
    process_input(input.data(), input.size());
  } while (resume_after_dispatch_);
  dispatching_ = false;
  if (peer_eof_ && (state_ == State::idle || state_ == State::reading)) {
    // Every request the client sent before its FIN has been answered.
    state_ = State::closing;
    arm_timer(limits().body_timeout);
    stream_.close_gracefully();
    return;
  }
  if (state_ == State::idle || state_ == State::reading) stream_.read_start();
}

void ClientConnection::on_stream_end(int uv_status, bool tls_failure) {
  if (state_ == State::front_tls) {
    // Bytes that are not TLS, or a Core that does not trust the proxy's certificate: nothing
    // reached the front. A connection that just closes is no decision.
    if (tls_failure) front_->on_proxy_tls_failed(stream_.outer_tls()->last_error());
    close_now();
    return;
  }
  if (state_ == State::front) {
    front_->on_client_end();
    close_now();
    return;
  }
  if (state_ == State::handshake) {
    if (tls_failure) {
      worker_.metrics().tls_handshake_failed();
      log_event(LogLevel::debug, "tls_handshake_failed",
                {{"client", client_ip_}, {"error", stream_.tls()->last_error()}});
    }
    close_now();
    return;
  }
  const bool in_flight = state_ == State::in_flight;
  if (uv_status == UV_EOF && in_flight) {
    // A half-close after the request(s): answer what was sent, then close.
    peer_eof_ = true;
    return;
  }
  if (in_flight) {
    ctx_.outcome = "client_gone";
    if (ctx_.status == 0) ctx_.status = 499;
    flow_.cancel();
    record_request();
  }
  close_now();
}

void ClientConnection::on_timer(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  switch (self->state_) {
    case State::front:
      // The front's head or ClientHello, or a splice, idle past its deadline.
      self->front_->on_timeout();
      if (self->state_ == State::front) self->close_now();
      break;
    case State::front_tls:
    case State::handshake:
    case State::idle:
      self->close_now();  // silent client or idle keep-alive
      break;
    case State::reading:
      self->refuse_unread(GatewayError{408, "M_UNKNOWN",
                                       self->parser_.headers_complete()
                                           ? "Timed out reading the request body"
                                           : "Timed out reading the request headers"});
      break;
    case State::in_flight:
      if (self->flow_.state() == RequestFlow::State::phases) {
        // Only a request waiting for keys has a timer here; it is answered now.
        self->flow_.key_wait_expired();
      } else if (self->flow_.state() == RequestFlow::State::streaming || self->held_body_) {
        self->ctx_.outcome = "client_gone";
        self->record_request();
        self->close_now();  // the client stopped reading
      }
      // Exchanging or holding: bounded by the upstream's own deadlines, not this timer.
      break;
    case State::closing:
      self->stream_.close();
      break;
  }
}

void ClientConnection::drain() {
  draining_ = true;
  if (state_ == State::idle || state_ == State::handshake || state_ == State::front ||
      state_ == State::front_tls) {
    close_now();
  }
}

void ClientConnection::abort() { close_now(); }

void ClientConnection::close_now() {
  state_ = State::closing;
  timer_.stop();
  flow_.cancel();
  stream_.close();
}

void ClientConnection::on_stream_closed() {
  flow_.cancel();
  if (counted_) worker_.metrics().connection_closed();
  worker_.connection_closed(this);
  delete this;
}

void ClientConnection::front_intercept(SSL_CTX* ctx, std::string_view first_bytes) {
  // From here on the tunnel is a connection like any other: requests read inside the minted
  // leaf's TLS, admitted by the tunnel, sent to its destination.
  tunnel_requests_ = std::make_unique<TunnelRequests>(front_->destination());
  WorkerFederation* federation = worker_.federation();
  remote_ = std::make_unique<RemoteUpstream>(front_->destination(),
                                             federation ? &federation->client() : nullptr);
  ctx_.admission = tunnel_requests_.get();
  flow_.set_upstream(*remote_);
  state_ = State::handshake;
  if (Status s = stream_.start_tls(ctx, true); !s) {
    log_event(LogLevel::error, "tls_setup_failed", {{"error", s.error().message}});
    close_now();
    return;
  }
  arm_timer(outbound_settings_->config->head_timeout);
  stream_.feed_received(first_bytes.data(), first_bytes.size());
}

void ClientConnection::front_write(std::string_view data) {
  stream_.write(data);
  stream_.flush();
}

void ClientConnection::front_read(bool reading) {
  if (reading) {
    stream_.read_start();
  } else {
    stream_.read_stop();
  }
}

void ClientConnection::front_close(bool graceful) {
  if (!graceful) return close_now();
  state_ = State::closing;
  arm_timer(limits().body_timeout);
  stream_.close_gracefully();
}

void ClientConnection::front_activity() { arm_timer(outbound_settings_->config->idle_timeout); }

}  // namespace bordergate
