#include "gateway/discovery/https_client.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <uv.h>

#include "gateway/http/response_parser.h"
#include "gateway/net/stream.h"
#include "gateway/net/uv_handle.h"

namespace bordergate::discovery {
namespace {

bool has_crlf(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

std::string target_text(const ConnectTarget& t) {
  return t.address.is_v6() ? "[" + t.address.to_string() + "]:" + std::to_string(t.port)
                           : t.address.to_string() + ":" + std::to_string(t.port);
}

std::string serialize(const OutboundRequest& r) {
  std::string out = r.method + " " + r.target + " HTTP/1.1\r\nHost: " + r.host_header + "\r\n";
  for (const auto& h : r.headers) out += h.name + ": " + h.value + "\r\n";
  if (!r.body.empty() || r.method != "GET") {
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  // One request per connection: no pooled state a hostile peer could poison.
  out += "Connection: close\r\n";
  bool has_agent = false;
  for (const auto& h : r.headers) has_agent = has_agent || iequals_lower(h.name, "user-agent");
  if (!has_agent) out += "User-Agent: bordergate\r\n";  // a forwarded request keeps the Core's
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace

Result<std::shared_ptr<const FederationTls>> FederationTls::build(const std::string& ca_file) {
  auto tls = std::make_shared<FederationTls>();
  ERR_clear_error();
  tls->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!tls->ctx_) return make_error("tls_setup_failed", openssl_error_text());
  SSL_CTX* ctx = tls->ctx_.get();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return make_error("tls_setup_failed", openssl_error_text());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                 : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (ok != 1) {
    return make_error("tls_ca_file", "cannot load CA " + (ca_file.empty() ? "(system)" : ca_file) +
                                         ": " + openssl_error_text());
  }
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  return std::shared_ptr<const FederationTls>(std::move(tls));
}

// One request: walks the targets until one answers, then reads one response. It deletes itself
// (through HttpsClient::finished) only from on_stream_closed or a timer, i.e. when no libuv
// callback of its own is still on the stack.
class HttpsClient::Exchange final : public StreamHandler, public ResponseSink {
 public:
  Exchange(HttpsClient& client, std::uint64_t id, OutboundRequest request)
      : client_(client),
        id_(id),
        request_(std::move(request)),
        wire_(serialize(request_)),
        connect_timer_(client.loop_, &Exchange::on_connect_timeout, this),
        total_timer_(client.loop_, &Exchange::on_total_timeout, this),
        parser_(*this) {}

  void start() {
    total_timer_.start(static_cast<std::uint64_t>(request_.total_timeout.count()));
    bool bad =
        has_crlf(request_.method) || has_crlf(request_.target) || has_crlf(request_.host_header);
    for (const auto& h : request_.headers) bad = bad || has_crlf(h.name) || has_crlf(h.value);
    if (bad) return fail_soon(make_error("invalid_request", "CR or LF in the request head"));
    if (request_.targets.empty()) {
      return fail_soon(make_error("no_targets", "discovery produced no address to connect to"));
    }
    next_target();
  }

  // StreamHandler
  void on_stream_connected(int status) override {
    if (status != 0) return attempt_failed("connect: " + std::string(uv_strerror(status)));
    stream_->read_start();
    Status s =
        request_.tls_ip
            ? stream_->start_tls(client_.tls_->context(), false, request_.tls_ip->to_string(), true)
            : stream_->start_tls(client_.tls_->context(), false, request_.tls_name, false);
    if (!s) attempt_failed("tls: " + s.error().message);
  }

  void on_stream_tls_ready() override {
    connect_timer_.stop();
    sent_ = true;
    parser_.start(request_.method == "HEAD");
    stream_->write(wire_);
    stream_->flush();
  }

  void on_stream_data(const char* data, size_t len) override {
    if (outcome_) return;
    if (!parser_.feed(data, len)) {
      if (!outcome_) outcome_ = make_error("bad_response", parser_.error());
    } else if (parser_.complete() && !outcome_) {
      outcome_ = std::move(response_);
    }
    if (outcome_) stream_->close();
  }

  void on_stream_end(int uv_status, bool tls_failure) override {
    if (outcome_) return stream_->close();
    if (!sent_) {
      std::string why = tls_failure ? "tls: " + stream_->tls()->last_error()
                                    : "connect: " + std::string(uv_strerror(uv_status));
      last_tls_failure_ = tls_failure;
      return attempt_failed(why);
    }
    if (uv_status == UV_EOF && parser_.head_received() && parser_.finish() && !outcome_) {
      outcome_ = std::move(response_);
    } else if (!outcome_) {
      outcome_ = make_error("connection_lost", "connection to " + target_text(current()) +
                                                   " closed before the response was complete");
    }
    stream_->close();
  }

  void on_stream_closed() override {
    stream_.reset();  // the Stream has returned from its last callback into us
    if (!outcome_ && next_ < request_.targets.size()) return next_target();
    if (!outcome_) {
      outcome_ = make_error(last_tls_failure_ ? "tls_failed" : "connect_failed", attempts_text());
    }
    deliver();
  }

  // ResponseSink
  void on_response_head(HttpResponseHead& head) override {
    response_.status = head.status;
    for (const auto& f : head.headers) response_.headers.push_back({f.name, f.value});
    if (head.content_length && *head.content_length > request_.max_body_bytes) return too_large();
    response_.lease = BudgetLease(request_.budget, BufferKind::answer);
    if (head.content_length && !response_.lease.admit(*head.content_length)) over_budget();
  }
  void on_response_body(const char* data, size_t len) override {
    if (outcome_) return;
    std::string& body = response_.body;
    if (body.size() + len > request_.max_body_bytes) return too_large();
    if (!response_.lease.make_room(body, len, request_.max_body_bytes)) return over_budget();
    body.append(data, len);
  }
  void on_response_complete() override {}

 private:
  const ConnectTarget& current() const { return request_.targets[next_ - 1]; }

  void next_target() {
    const ConnectTarget& target = request_.targets[next_++];
    sent_ = false;
    response_ = OutboundResponse{};
    response_.peer = target;
    stream_ = std::make_unique<Stream>(client_.loop_, *this);
    sockaddr_storage address{};
    target.address.to_sockaddr(target.port, reinterpret_cast<sockaddr*>(&address));
    connect_timer_.start(static_cast<std::uint64_t>(request_.connect_timeout.count()));
    if (int r = stream_->connect(reinterpret_cast<sockaddr*>(&address)); r != 0) {
      attempt_failed("connect: " + std::string(uv_strerror(r)));
    }
  }

  void attempt_failed(const std::string& why) {
    connect_timer_.stop();
    attempts_.push_back(target_text(current()) + ": " + why);
    stream_->close();  // on_stream_closed moves on to the next target
  }

  void too_large() {
    outcome_ = make_error("body_too_large", "response body exceeds " +
                                                std::to_string(request_.max_body_bytes) + " bytes");
  }

  void over_budget() {
    outcome_ =
        make_error("answer_budget",
                   "the gateway holds too many large answers now (limits.max_buffered_bytes)");
    response_.lease.release();
  }

  void fail_soon(Error error) {
    outcome_ = std::move(error);
    connect_timer_.start(0);  // delivered from the loop, never inside send()
  }

  std::string attempts_text() const {
    std::string text;
    for (const auto& a : attempts_) text += (text.empty() ? "" : "; ") + a;
    return text;
  }

  static void on_connect_timeout(void* self) {
    auto* e = static_cast<Exchange*>(self);
    if (!e->stream_) return e->deliver();  // fail_soon
    if (e->sent_ || e->outcome_) return;
    e->last_tls_failure_ = false;
    e->attempt_failed("no TLS connection within " +
                      std::to_string(e->request_.connect_timeout.count()) + " ms");
  }

  static void on_total_timeout(void* self) {
    auto* e = static_cast<Exchange*>(self);
    if (!e->outcome_) {
      e->outcome_ =
          make_error("timeout", "no complete response within " +
                                    std::to_string(e->request_.total_timeout.count()) + " ms" +
                                    (e->attempts_.empty() ? "" : " (") + e->attempts_text() +
                                    (e->attempts_.empty() ? "" : ")"));
    }
    if (e->stream_) return e->stream_->close();
    e->deliver();
  }

  void deliver() {
    Result<OutboundResponse> result = std::move(*outcome_);
    if (result) result->attempts = attempts_;
    client_.finished(id_, std::move(result));  // destroys *this
  }

  HttpsClient& client_;
  std::uint64_t id_;
  OutboundRequest request_;
  std::string wire_;
  Timer connect_timer_;
  Timer total_timer_;
  ResponseParser parser_;
  std::unique_ptr<Stream> stream_;
  std::size_t next_ = 0;
  bool sent_ = false;
  bool last_tls_failure_ = false;
  OutboundResponse response_;
  std::optional<Result<OutboundResponse>> outcome_;
  std::vector<std::string> attempts_;
};

HttpsClient::HttpsClient(uv_loop_t* loop, std::shared_ptr<const FederationTls> tls)
    : loop_(loop), tls_(std::move(tls)) {}

HttpsClient::~HttpsClient() = default;

void HttpsClient::send(OutboundRequest request, Done done) {
  const std::uint64_t id = next_id_++;
  auto exchange = std::make_unique<Exchange>(*this, id, std::move(request));
  Exchange& e = *exchange;
  dones_.emplace(id, std::move(done));
  exchanges_.emplace(id, std::move(exchange));
  e.start();
}

void HttpsClient::finished(std::uint64_t id, Result<OutboundResponse> result) {
  auto done = std::move(dones_.at(id));
  dones_.erase(id);
  exchanges_.erase(id);
  done(std::move(result));
}

}  // namespace bordergate::discovery
