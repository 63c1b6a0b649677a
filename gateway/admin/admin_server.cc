#include "gateway/admin/admin_server.h"

#include "gateway/common/log.h"
#include "gateway/http/error_response.h"
#include "gateway/http/request_parser.h"
#include "gateway/net/stream.h"

namespace bordergate {

class AdminServer::Connection final : public StreamHandler {
 public:
  explicit Connection(AdminServer& server)
      : server_(server),
        stream_(server.loop_, *this),
        timer_(server.loop_, &Connection::on_timeout, this),
        parser_(RequestLimits{8192, 50, 0}) {}

  bool accept(uv_stream_t* listener) {
    if (stream_.accept(listener) != 0) {
      stream_.close();
      return false;
    }
    timer_.start(10000);
    stream_.read_start();
    return true;
  }
  void close() { stream_.close(); }

  Connection* prev = nullptr;
  Connection* next = nullptr;

  void on_stream_data(const char* data, size_t len) override {
    if (done_) return;
    RequestParser::Outcome out = parser_.feed(data, len);
    if (out.state == RequestParser::State::error) {
      reply_error(parser_.error());
    } else if (out.state == RequestParser::State::complete) {
      dispatch();
    }
  }
  void on_stream_end(int, bool) override { stream_.close(); }
  void on_stream_closed() override {
    if (prev != nullptr)
      prev->next = next;
    else
      server_.connections_ = next;
    if (next != nullptr) next->prev = prev;
    delete this;
  }

 private:
  static void on_timeout(void* p) { static_cast<Connection*>(p)->stream_.close(); }

  void dispatch() {
    const HttpRequest& r = parser_.request();
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    if (r.method != "GET" && r.method != "HEAD") {
      reply_error({405, "M_UNRECOGNIZED", "Unrecognized request method"});
      return;
    }
    bool head = r.method == "HEAD";
    // Both carry the enforcement mode, so a probe or a dashboard sees a pass-through gateway.
    std::string enforcement = ",\"inbound_enforcement\":\"";
    append_json_escaped(enforcement, server_.hooks_.inbound_enforcement);
    enforcement += "\"}";
    if (path == "/healthz") {
      reply(200, "application/json", "{\"status\":\"ok\"" + enforcement, head);
    } else if (path == "/readyz") {
      std::string reason;
      bool ok = server_.hooks_.ready(reason);
      std::string body = ok ? "{\"status\":\"ready\"" : "{\"status\":\"not_ready\",\"reason\":\"";
      if (!ok) {
        append_json_escaped(body, reason);
        body += "\"";
      }
      reply(ok ? 200 : 503, "application/json", body + enforcement, head);
    } else if (path == "/metrics") {
      reply(200, "text/plain; version=0.0.4; charset=utf-8", server_.hooks_.metrics(), head);
    } else {
      reply_error({404, "M_UNRECOGNIZED", "Unrecognized request"});
    }
  }

  void reply(int status, std::string_view type, const std::string& body, bool head) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += status_reason(status);
    out += "\r\nContent-Type: ";
    out += type;
    out += "\r\nCache-Control: no-store\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n";
    if (!head) out += body;
    finish(out);
  }
  void reply_error(const GatewayError& e) {
    std::string out;
    // The method is known once the head parsed; a request refused before has none.
    append_error_response(out, e, true, answer_to(parser_.request().method));
    finish(out);
  }
  void finish(const std::string& out) {
    done_ = true;
    stream_.write(out);
    stream_.close_gracefully();
  }

  AdminServer& server_;
  Stream stream_;
  Timer timer_;
  RequestParser parser_;
  bool done_ = false;
};

AdminServer::AdminServer(uv_loop_t* loop, Hooks hooks) : loop_(loop), hooks_(std::move(hooks)) {
  if (uv_tcp_init(loop_, tcp_.get()) == 0) tcp_.mark_initialized();
  tcp_.get()->data = this;
}

AdminServer::~AdminServer() { close(); }

Status AdminServer::listen(const SocketAddress& address) {
  auto fd = open_listen_socket(address, false, 128);
  if (!fd) return fd.error();
  int r = uv_tcp_open(tcp_.get(), fd.value());
  if (r == 0)
    r = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_.get()), 128, &AdminServer::on_connection);
  if (r != 0) return make_error("listen_failed", uv_strerror(r));
  return {};
}

void AdminServer::close() {
  tcp_.close();
  for (Connection* c = connections_; c != nullptr; c = c->next) c->close();
}

void AdminServer::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (self == nullptr || status < 0) return;
  auto* c = new Connection(*self);
  c->next = self->connections_;
  if (self->connections_ != nullptr) self->connections_->prev = c;
  self->connections_ = c;
  c->accept(server);
}

}  // namespace bordergate
