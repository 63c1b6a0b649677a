// ClientConnection's own state machine, in process: a real Worker (its loop on its own thread,
// one federation listener on 127.0.0.1, no policy: the plain proxy) in front of a scripted Core
// on 127.0.0.1, and a TLS client made with OpenSSL on a blocking socket. Keep-alive, pipelining,
// a request refused while it is read, the header timeout, and a Core that is gone: each is one
// walk through idle -> reading -> in_flight -> idle or closing, observed from the wire.
#include "gateway/proxy/client_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "gateway/admin/metrics.h"
#include "gateway/net/listen_socket.h"
#include "gateway/net/openssl_ptr.h"
#include "gateway/proxy/runtime.h"
#include "gateway/proxy/worker.h"

namespace bordergate {
namespace {

namespace fs = std::filesystem;

int listening_socket(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
  EXPECT_EQ(0, ::listen(fd, 16));
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// The Core: answers every request `{}` on keep-alive, one connection at a time, and counts.
class FakeCore {
 public:
  FakeCore() {
    fd_ = listening_socket(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeCore() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }
  void serve(int c) {
    std::string in;
    char buf[4096];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      for (std::size_t end; (end = in.find("\r\n\r\n")) != std::string::npos;) {
        in.erase(0, end + 4);  // the tests send no bodies
        ++requests_;
        static constexpr std::string_view kAnswer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        if (::send(c, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL) < 0) return;
      }
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
};

class ClientConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("bg-conn-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const std::string d = dir_->string();
    ASSERT_EQ(0, std::system(("openssl req -x509 -new -newkey ec -pkeyopt "
                              "ec_paramgen_curve:P-256 -nodes -subj /CN=core.example -days 2 "
                              "-addext subjectAltName=DNS:core.example -keyout " +
                              d + "/tls.key -out " + d + "/tls.crt >/dev/null 2>&1")
                                 .c_str()));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // A worker serving one federation listener in front of `core_port`.
  void start(std::uint16_t core_port) {
    auto c = std::make_shared<Config>();
    ListenerConfig l;
    l.address = "127.0.0.1";
    CertificateConfig cert;
    cert.server_names = {"core.example"};
    cert.certificate = (*dir_ / "tls.crt").string();
    cert.private_key = (*dir_ / "tls.key").string();
    l.tls.certificates.push_back(cert);
    c->federation.push_back(l);
    c->upstream.host = "127.0.0.1";
    c->upstream.port = core_port;
    c->upstream.connect_timeout = Millis(2000);
    c->upstream.response_timeout = Millis(5000);
    c->limits.header_timeout = Millis(300);
    auto rt = build_runtime(c);
    ASSERT_TRUE(rt.ok()) << rt.error().message;
    const int fd = listening_socket(port_);
    uv_loop_init(&exit_loop_);
    uv_async_init(&exit_loop_, &on_exit_, [](uv_async_t*) {});
    worker_ = std::make_unique<Worker>(0, *rt, std::vector<int>{fd}, metrics_.worker(0), shared_,
                                       &on_exit_);
    worker_->start();
  }
  void TearDown() override {
    if (worker_) {
      // Also after a drain that finished the worker: a late Stop (the server's drain deadline)
      // must find the closed inbox and do nothing.
      worker_->post(Worker::Stop{});
      worker_->join();
      worker_.reset();
      uv_close(reinterpret_cast<uv_handle_t*>(&on_exit_), nullptr);
      uv_run(&exit_loop_, UV_RUN_DEFAULT);
      uv_loop_close(&exit_loop_);
    }
  }

  // A TLS connection to the worker (SNI core.example; the test does not verify the leaf).
  struct Client {
    int fd = -1;
    SslCtxPtr ctx;
    SslPtr ssl;
    Client() = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client() {
      ssl.reset();
      if (fd >= 0) ::close(fd);
    }
    void send(std::string_view s) {
      ASSERT_EQ(SSL_write(ssl.get(), s.data(), static_cast<int>(s.size())),
                static_cast<int>(s.size()));
    }
    // Everything until the peer closes (or 5 s pass without a byte).
    std::string read_all() {
      std::string out = std::move(pending);
      pending.clear();
      char buf[4096];
      for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) {
        out.append(buf, static_cast<std::size_t>(n));
      }
      return out;
    }
    // One whole answer (head and Content-Length body); empty when the peer closed first.
    std::string read_answer() {
      char buf[4096];
      for (;;) {
        const std::size_t head_end = pending.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::size_t length = 0;
          const std::size_t at = pending.find("Content-Length: ");
          if (at != std::string::npos && at < head_end)
            length = std::stoul(pending.substr(at + 16));
          const std::size_t total = head_end + 4 + length;
          if (pending.size() >= total) {
            std::string answer = pending.substr(0, total);
            pending.erase(0, total);
            return answer;
          }
        }
        const int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) return {};
        pending.append(buf, static_cast<std::size_t>(n));
      }
    }
    std::string pending;
  };
  std::unique_ptr<Client> connect() {
    auto c = std::make_unique<Client>();
    c->fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    EXPECT_EQ(0, ::connect(c->fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
    c->ctx.reset(SSL_CTX_new(TLS_client_method()));
    c->ssl.reset(SSL_new(c->ctx.get()));
    SSL_set_fd(c->ssl.get(), c->fd);
    SSL_set_tlsext_host_name(c->ssl.get(), "core.example");
    EXPECT_EQ(1, SSL_connect(c->ssl.get()));
    return c;
  }

  static constexpr std::string_view kGet =
      "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n\r\n";
  static constexpr std::string_view kOk = "HTTP/1.1 200 OK";

  static fs::path* dir_;
  Metrics metrics_{1};
  WorkerShared shared_;
  uv_loop_t exit_loop_{};
  uv_async_t on_exit_{};
  std::unique_ptr<Worker> worker_;
  std::uint16_t port_ = 0;
};

fs::path* ClientConnectionTest::dir_ = nullptr;

std::size_t count(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST_F(ClientConnectionTest, KeepAliveServesOneRequestAfterAnother) {
  FakeCore core;
  start(core.port());
  auto c = connect();
  for (int i = 0; i < 3; ++i) {
    c->send(kGet);
    const std::string answer = c->read_answer();
    EXPECT_EQ(answer.substr(0, kOk.size()), kOk) << answer;
    EXPECT_EQ(answer.substr(answer.size() - 2), "{}");
  }
  EXPECT_EQ(core.requests(), 3);
}

TEST_F(ClientConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  FakeCore core;
  start(core.port());
  auto c = connect();
  // Three requests in one write, the last one asking to close: three answers, then EOF.
  c->send(std::string(kGet) + std::string(kGet) +
          "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n"
          "Connection: close\r\n\r\n");
  const std::string all = c->read_all();
  EXPECT_EQ(count(all, kOk), 3u) << all;
  EXPECT_EQ(core.requests(), 3);
}

TEST_F(ClientConnectionTest, ARequestRefusedWhileReadIsAnsweredAndClosed) {
  FakeCore core;
  start(core.port());
  auto c = connect();
  c->send(
      "PUT /_matrix/federation/v1/send/t HTTP/1.1\r\nHost: core.example\r\n"
      "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab");
  const std::string all = c->read_all();  // until the gateway closes
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 400") << all;
  EXPECT_NE(all.find("\"errcode\""), std::string::npos);
  EXPECT_EQ(core.requests(), 0);  // nothing reached the Core
}

TEST_F(ClientConnectionTest, HeadersThatNeverEndAre408AndClosed) {
  FakeCore core;
  start(core.port());
  auto c = connect();
  c->send("GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n");
  const std::string all = c->read_all();  // limits.header_timeout is 300 ms here
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 408") << all;
  EXPECT_EQ(core.requests(), 0);
}

TEST_F(ClientConnectionTest, ACoreThatIsGoneIs502NeverA200) {
  std::uint16_t gone = 0;
  ::close(listening_socket(gone));  // a port nothing listens on any more
  start(gone);
  auto c = connect();
  c->send(kGet);
  const std::string answer = c->read_answer();
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 502") << answer;
  EXPECT_NE(answer.find("The homeserver refused the connection"), std::string::npos) << answer;
  // The connection stays usable: the next request gets its own answer.
  c->send(
      "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n"
      "Connection: close\r\n\r\n");
  const std::string rest = c->read_all();
  EXPECT_NE(rest.find("HTTP/1.1 502"), std::string::npos) << rest;
}

TEST_F(ClientConnectionTest, ADrainClosesAnIdleKeepAliveConnection) {
  FakeCore core;
  start(core.port());
  auto c = connect();
  c->send(kGet);
  EXPECT_EQ(c->read_answer().substr(0, kOk.size()), kOk);
  worker_->post(Worker::Drain{});
  EXPECT_EQ(c->read_all(), "");  // closed between requests, nothing more said
  // The worker finishes by itself; a Stop posted after that (TearDown) must be harmless.
  worker_->join();
}

}  // namespace
}  // namespace bordergate
