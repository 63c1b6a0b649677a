// The tunnel front's state machine without a socket: the Core's bytes are fed to a TunnelFront
// whose owner (the connection, here a fake) writes down what would have been sent, whether the
// tunnel was intercepted (and with which first bytes) or closed, against a real policy, proxy
// credentials, interception CA and audit log. ClientHellos are real ones, made by OpenSSL's
// client over memory BIOs.
#include "gateway/proxy/tunnel_front.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gateway/enforcement/services.h"
#include "gateway/matrix/json.h"
#include "gateway/net/openssl_ptr.h"

namespace bordergate {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPolicy = R"(version: 1
server_name: core.example
default: deny
federations:
  partners:
    servers: [good.example]
rules:
  - id: partners
    federation: partners
    direction: both
    endpoints: ["@all"]
    action: allow
)";

constexpr const char* kAuth = "Proxy-Authorization: Basic Y29yZTpzM2NyZXQ=\r\n";  // core:s3cret

// The first flight of a real OpenSSL client, with SNI.
std::string client_hello(const char* sni) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);
  SSL_set_tlsext_host_name(ssl.get(), sni);
  SSL_set_connect_state(ssl.get());
  EXPECT_EQ(-1, SSL_do_handshake(ssl.get()));
  std::string bytes(static_cast<std::size_t>(BIO_ctrl_pending(out)), '\0');
  EXPECT_EQ(static_cast<int>(bytes.size()),
            BIO_read(out, bytes.data(), static_cast<int>(bytes.size())));
  return bytes;
}

std::string connect_head(const char* target, const char* auth = kAuth) {
  return std::string("CONNECT ") + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + auth + "\r\n";
}

class FakeOwner final : public TunnelFront::Owner {
 public:
  void front_write(std::string_view data) override { written += data; }
  void front_read(bool on) override { reading = on; }
  std::size_t front_queued() const override { return 0; }
  void front_intercept(SSL_CTX* ctx, std::string_view first_bytes) override {
    intercepted = ctx != nullptr;
    first = std::string(first_bytes);
  }
  void front_close(bool graceful) override { closed = graceful ? "graceful" : "now"; }
  void front_activity() override { ++activity; }

  std::string written;
  bool reading = true;
  bool intercepted = false;
  std::string first;
  std::string closed;
  int activity = 0;
};

class TunnelFrontTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_dir_ =
        new fs::path(fs::temp_directory_path() / ("bg-front-ca-" + std::to_string(::getpid())));
    fs::create_directories(*ca_dir_);
    const std::string d = ca_dir_->string();
    ASSERT_EQ(0, std::system(("openssl req -x509 -new -newkey ec -pkeyopt "
                              "ec_paramgen_curve:P-256 -nodes -subj /CN=bordergate-test-ca -days 2 "
                              "-addext basicConstraints=critical,CA:TRUE "
                              "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
                              d + "/ca.key -out " + d + "/ca.pem >/dev/null 2>&1")
                                 .c_str()));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*ca_dir_);
    delete ca_dir_;
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bg-front-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    Config c;
    c.server_name = "core.example";
    c.policy = (dir_ / "policy.yaml").string();
    c.state_dir = dir_.string();
    c.audit.path = (dir_ / "audit.log").string();
    c.quarantine.path = (dir_ / "quarantine.db").string();
    auto s = enforcement::build_enforcement_services(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    services_ = std::move(s.value());

    auto settings = std::make_shared<OutboundSettings>();
    settings->config = std::make_shared<outbound::OutboundConfig>();
    settings->core_server_name = "core.example";
    auto minter =
        outbound::CertMinter::load((*ca_dir_ / "ca.pem").string(), (*ca_dir_ / "ca.key").string());
    ASSERT_TRUE(minter.ok()) << minter.error().message;
    settings->minter = std::move(*minter);
    settings->credentials.emplace(*outbound::ProxyCredentials::parse("core:s3cret"));
    settings->egress = *outbound::EgressAllowList::compile({{"push.example", "tunnel", {443}}});
    settings_ = settings;
    outbound_ = std::make_unique<OutboundServices>(settings_);
    uv_loop_init(&loop_);
  }
  void TearDown() override {
    front_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    services_.reset();
    fs::remove_all(dir_);
  }

  // A front on `listener` whose discovery answers `resolve_error` (no discovery when empty).
  TunnelFront& open(outbound::ProxyListener listener = outbound::ProxyListener::connect,
                    bool with_policy = true) {
    TunnelFront::Env env;
    env.loop = &loop_;
    env.resolver = [this](std::string_view name, std::function<void(discovery::Discovery)> done) {
      resolved_.emplace_back(name);
      done(discovery::Discovery{make_error("srv_failed", "no such name"), {}, 0});
    };
    env.services = with_policy ? services_.get() : nullptr;
    front_ = std::make_unique<TunnelFront>(std::move(env), *outbound_, settings_, owner_,
                                           "127.0.0.1", listener);
    return *front_;
  }
  void feed(const std::string& bytes) { front_->on_client_bytes(bytes.data(), bytes.size()); }

  // (endpoint, action, rule_id, reason) of every decision record so far.
  std::vector<std::string> decisions() {
    services_->audit->flush();
    std::ifstream in(dir_ / "audit.log");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      auto j = matrix::parse_json(line);
      if (!j || !j->is_object()) continue;
      auto get = [&](const char* k) {
        const matrix::Json* v = j->find(k);
        const std::string* s = v != nullptr ? v->string_if() : nullptr;
        return s != nullptr ? *s : std::string();
      };
      if (get("type") != "decision") continue;
      out.push_back(get("endpoint") + " " + get("action") + " " + get("rule_id") + " " +
                    get("reason"));
    }
    return out;
  }

  static fs::path* ca_dir_;
  fs::path dir_;
  std::unique_ptr<enforcement::EnforcementServices> services_;
  std::shared_ptr<const OutboundSettings> settings_;
  std::unique_ptr<OutboundServices> outbound_;
  uv_loop_t loop_{};
  FakeOwner owner_;
  std::unique_ptr<TunnelFront> front_;
  std::vector<std::string> resolved_;
};

fs::path* TunnelFrontTest::ca_dir_ = nullptr;

TEST_F(TunnelFrontTest, AFederationTunnelIsAdmittedGatedAndIntercepted) {
  open();
  feed(connect_head("good.example:8448"));
  EXPECT_EQ(owner_.written.substr(0, 12), "HTTP/1.1 200");
  EXPECT_FALSE(owner_.intercepted);
  // The ClientHello arrives in two pieces: the gate waits for the whole of it.
  const std::string hello = client_hello("good.example");
  feed(hello.substr(0, 10));
  EXPECT_FALSE(owner_.intercepted);
  feed(hello.substr(10));
  ASSERT_TRUE(owner_.intercepted);
  EXPECT_EQ(owner_.first, hello);  // handed to the TLS session first
  EXPECT_TRUE(owner_.closed.empty());
  ASSERT_TRUE(front_->destination()->admitted());
  EXPECT_EQ(front_->destination()->matrix_destination(), "good.example");
  EXPECT_EQ(decisions(),
            std::vector<std::string>{"connect forward partners federation_destination"});
}

TEST_F(TunnelFrontTest, RefusalsAnswerAuditAndClose) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* answer;  // the start of what the Core is answered; empty: nothing
    const char* closed;
    const char* record;
  };
  const Case cases[] = {
      {"not a proxy request", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 40", "graceful", ""},
      {"garbage", "\x01\x02\r\n\r\n", "HTTP/1.1 400", "graceful",
       "connect deny default malformed_proxy_request"},
      {"no credentials", connect_head("good.example:8448", ""), "HTTP/1.1 407", "graceful",
       "connect deny proxy_auth proxy_credentials_missing"},
      {"outside every federation", connect_head("evil.example:8448"), "HTTP/1.1 403", "graceful",
       ""},
      {"plain HTTP inside the tunnel",
       connect_head("good.example:8448") + "GET / HTTP/1.1\r\nHost: good.example\r\n\r\n",
       "HTTP/1.1 200", "now", "tunnel deny tunnel_gate not_tls"},
      {"an SNI that is not the CONNECT target",
       connect_head("good.example:8448") + client_hello("other.example"), "HTTP/1.1 200", "now",
       "tunnel deny tunnel_gate sni_mismatch"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    owner_ = FakeOwner{};
    services_->audit->flush();
    fs::remove(dir_ / "audit.log");
    open();
    feed(c.bytes);
    EXPECT_EQ(owner_.written.substr(0, std::string_view(c.answer).size()), c.answer)
        << owner_.written;
    EXPECT_EQ(owner_.closed, c.closed);
    EXPECT_FALSE(owner_.intercepted);
    if (*c.record != '\0') {
      const auto records = decisions();
      ASSERT_FALSE(records.empty());
      EXPECT_EQ(records.back(), c.record);
    }
  }
}

TEST_F(TunnelFrontTest, WithoutAPolicyNothingIsAdmitted) {
  open(outbound::ProxyListener::connect, false);
  feed(connect_head("good.example:8448"));
  EXPECT_EQ(owner_.written.substr(0, 12), "HTTP/1.1 503");
  EXPECT_EQ(owner_.closed, "graceful");
}

TEST_F(TunnelFrontTest, AnEgressTunnelIsSplicedToWhatDiscoveryFinds) {
  open();
  feed(connect_head("push.example:443") + client_hello("push.example"));
  EXPECT_EQ(owner_.written.substr(0, 12), "HTTP/1.1 200");
  EXPECT_FALSE(owner_.intercepted);
  // The splice resolves the destination first; here discovery fails, which closes the tunnel.
  EXPECT_EQ(resolved_, std::vector<std::string>{"push.example:443"});
  EXPECT_EQ(owner_.closed, "now");
  const auto records = decisions();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], "tunnel deny tunnel_gate destination_unresolved");
}

TEST_F(TunnelFrontTest, ATimeoutBeforeTheClientHelloIsAudited) {
  open();
  feed(connect_head("good.example:8448"));
  front_->on_timeout();
  EXPECT_EQ(owner_.closed, "now");
  EXPECT_EQ(decisions().back(), "tunnel deny tunnel_gate tunnel_timeout");
}

TEST_F(TunnelFrontTest, DirectModeAdmitsTheSniAsTheDestination) {
  open(outbound::ProxyListener::direct);
  const std::string hello = client_hello("good.example");
  feed(hello);
  ASSERT_TRUE(owner_.intercepted);
  EXPECT_TRUE(owner_.written.empty());  // no head, nothing to answer
  EXPECT_EQ(owner_.first, hello);
  EXPECT_EQ(decisions(),
            std::vector<std::string>{"direct forward partners federation_destination"});

  owner_ = FakeOwner{};
  open(outbound::ProxyListener::direct);
  feed(client_hello("evil.example"));
  EXPECT_FALSE(owner_.intercepted);
  EXPECT_EQ(owner_.closed, "now");
  EXPECT_EQ(decisions().back().substr(0, 12), "direct deny ");
}

}  // namespace
}  // namespace bordergate
