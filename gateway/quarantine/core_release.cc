#include "gateway/quarantine/core_release.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway/http/headers.h"
#include "gateway/http/response_parser.h"
#include "gateway/net/openssl_ptr.h"
#include "gateway/net/tls_context.h"

namespace bordergate::quarantine {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Connects within the deadline; the socket stays blocking afterwards with
// send/receive timeouts, which is all a one-shot CLI exchange needs.
Result<int> connect_to(const UpstreamConfig& up, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(up.port);
  if (int rc = getaddrinfo(up.host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return make_error("core_connect", "cannot resolve " + up.host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
  std::string last = "no address";
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    int rc = ::connect(fd.get(), a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      rc = poll(&p, 1, remaining_ms(deadline));
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 1 && getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        last = rc == 0 ? "timed out" : std::strerror(err ? err : errno);
        rc = -1;
      }
    } else if (rc != 0) {
      last = std::strerror(errno);
    }
    if (rc != 0) continue;
    int flags = 0;  // back to blocking, bounded by SO_RCVTIMEO/SO_SNDTIMEO
    if (fcntl(fd.get(), F_SETFL, flags) != 0) continue;
    timeval tv{};
    int ms = remaining_ms(deadline);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd.release();
  }
  return make_error("core_connect",
                    "cannot connect to the Core at " + up.host + ":" + port + ": " + last);
}

// Collects the response head status and a bounded body.
class Collector final : public ResponseSink {
 public:
  void on_response_head(HttpResponseHead& head) override { answer.status = head.status; }
  void on_response_body(const char* data, size_t len) override {
    size_t room = kMaxBody - std::min(kMaxBody, answer.body.size());
    answer.body.append(data, std::min(room, len));
  }
  void on_response_complete() override { complete = true; }

  static constexpr size_t kMaxBody = 64 * 1024;
  CoreAnswer answer;
  bool complete = false;
};

// A byte channel over the socket, plain or TLS.
class Channel {
 public:
  Channel(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Channel() { ::close(fd_); }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  bool write_all(std::string_view data) {
    while (!data.empty()) {
      long n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && !ssl_ && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // >0 bytes, 0 end of stream, <0 error.
  long read(char* buf, size_t len) {
    for (;;) {
      long n = ssl_ ? SSL_read(ssl_, buf, static_cast<int>(len)) : ::recv(fd_, buf, len, 0);
      if (n < 0 && !ssl_ && errno == EINTR) continue;
      if (ssl_ && n <= 0) {
        int err = SSL_get_error(ssl_, static_cast<int>(n));
        return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
      return n;
    }
  }

 private:
  int fd_;
  SSL* ssl_;
};

}  // namespace

std::string release_request_bytes(const HeldRequest& stored, std::string_view fallback_host) {
  HttpRequest request;
  request.method = stored.method;
  request.target = stored.target;
  for (const HeaderField& f : stored.headers) {
    HeaderField& h = request.headers.add();
    h.name = f.name;
    h.value = f.value;
  }
  request.body = stored.body;
  request.had_framing = true;
  std::string out;
  append_upstream_request_head(out, request, stored.remote_addr, fallback_host);
  out += stored.body;
  return out;
}

Result<CoreAnswer> send_to_core(const UpstreamConfig& up, std::string_view bytes,
                                std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  Result<int> fd = connect_to(up, deadline);
  if (!fd) return fd.error();
  SslPtr ssl;
  std::shared_ptr<const ClientTls> tls;
  if (up.tls.enabled) {
    Result<std::shared_ptr<const ClientTls>> built = ClientTls::build(up.tls, up.host);
    if (!built) {
      ::close(*fd);
      return make_error("core_tls", built.error().message);
    }
    tls = *built;
    ssl.reset(SSL_new(tls->context()));
    bool ok = ssl != nullptr && SSL_set_fd(ssl.get(), *fd) == 1;
    if (ok && tls->name_is_ip()) {
      ok =
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), tls->verify_name().c_str()) == 1;
    } else if (ok) {
      ok = SSL_set_tlsext_host_name(ssl.get(), tls->verify_name().c_str()) == 1 &&
           SSL_set1_host(ssl.get(), tls->verify_name().c_str()) == 1;
      SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    if (!ok || SSL_connect(ssl.get()) != 1) {
      std::string why = openssl_error_text();
      ::close(*fd);
      return make_error("core_tls", "TLS handshake with the Core failed: " + why);
    }
  }
  Channel channel(*fd, ssl.get());
  if (!channel.write_all(bytes)) {
    return make_error(remaining_ms(deadline) == 0 ? "core_timeout" : "core_io",
                      "cannot send the request to the Core");
  }
  Collector collector;
  ResponseParser parser(collector);
  parser.start(bytes.substr(0, 5) == "HEAD ");
  char buf[16384];
  while (!collector.complete) {
    long n = channel.read(buf, sizeof buf);
    if (n < 0) {
      return make_error(remaining_ms(deadline) == 0 ? "core_timeout" : "core_io",
                        "reading the Core's response failed");
    }
    if (n == 0) {
      if (!parser.finish() && !collector.complete) {
        return make_error("core_protocol", "the Core closed the connection mid-response");
      }
      break;
    }
    if (!parser.feed(buf, static_cast<size_t>(n))) {
      return make_error("core_protocol", "malformed response from the Core: " + parser.error());
    }
  }
  if (ssl) SSL_shutdown(ssl.get());
  return collector.answer;
}

}  // namespace bordergate::quarantine
