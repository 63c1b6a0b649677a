// Resolution end to end over real DNS (dnsmasq on loopback) with a scripted well-known fetch:
// SRV priority and weight ordering, _matrix-fed before _matrix, the 8448 fallback, delegation,
// and the address guard refusing loopback answers that the configuration does not allow.
#include "gateway/discovery/server_resolver.h"

#include <gtest/gtest.h>

#include "tests/unit/discovery/dns_records.h"
#include "tests/unit/discovery/dnsmasq_fixture.h"

namespace bordergate::discovery {
namespace {

using testing::Dnsmasq;

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

class ServerResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dnsmasq_ = Dnsmasq::start(testing::test_zone()).release(); }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
  }

  void SetUp() override {
    if (!Dnsmasq::available()) GTEST_SKIP() << "/usr/sbin/dnsmasq is not installed";
    ASSERT_NE(dnsmasq_, nullptr) << "dnsmasq did not start";
    uv_loop_init(&loop_);
    ResolverOptions dns_options;
    dns_options.servers = {dnsmasq_->server()};
    auto dns = AresResolver::create(&loop_, dns_options);
    ASSERT_TRUE(dns.ok());
    dns_ = std::move(*dns);
    // Loopback 127.0.0.0/29 stands in for "the internet" here; 127.0.0.99 stays forbidden.
    options_.guard = AddressGuard::from_strings({"127.0.0.0/29", "::1/128"}).value();
    resolver_ = std::make_unique<ServerResolver>(
        *dns_,
        [this](const HttpsRequest& request, std::function<void(HttpsReply)> done) {
          fetches_.push_back(request);
          auto it = web_.find(request.host_header);
          HttpsReply reply;
          if (it == web_.end()) {
            reply.transport_error = make_error("connect_failed", "connection refused");
          } else {
            reply = it->second;
          }
          done(std::move(reply));
        },
        options_, cache_, [] { return std::int64_t{1'700'000'000'000}; });
  }

  void TearDown() override {
    if (!dns_) return;
    resolver_.reset();
    dns_.reset();
    EXPECT_EQ(testing::drain_and_close(&loop_), 0);
  }

  Discovery discover(const std::string& name) {
    std::optional<Discovery> out;
    resolver_->resolve(name, [&](Discovery d) { out = std::move(d); });
    EXPECT_TRUE(testing::run_until(&loop_, [&] { return out.has_value(); }));
    if (!out) return Discovery{make_error("test_timeout", "no answer"), {}, 0};
    return std::move(*out);
  }

  static std::string log_text(const Discovery& d) {
    std::string out;
    for (const auto& line : d.log) out += line + "\n";
    return out;
  }

  static Dnsmasq* dnsmasq_;
  uv_loop_t loop_{};
  std::unique_ptr<AresResolver> dns_;
  ResolutionOptions options_;
  WellKnownCache cache_;
  std::map<std::string, HttpsReply> web_;
  std::vector<HttpsRequest> fetches_;
  std::unique_ptr<ServerResolver> resolver_;
};

Dnsmasq* ServerResolverTest::dnsmasq_ = nullptr;

TEST_F(ServerResolverTest, SrvPrioritiesAndFedBeforeLegacy) {
  const Discovery d = discover("srv.bg.test");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->route, Route::kSrv);
  const std::vector<ConnectTarget> expected = {
      {ip("127.0.0.2"), 8002}, {ip("127.0.0.1"), 8001}, {ip("127.0.0.3"), 8003}};
  EXPECT_EQ(d.result->targets, expected);
  EXPECT_EQ(d.result->tls_name, "srv.bg.test");
  EXPECT_EQ(d.result->host_header, "srv.bg.test");
  EXPECT_EQ(log_text(d).find("_matrix._tcp"), std::string::npos) << log_text(d);
  // The well-known was attempted against srv.bg.test's own address, port 443.
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].targets, (std::vector<ConnectTarget>{{ip("127.0.0.1"), 443}}));
  EXPECT_EQ(fetches_[0].tls_name, "srv.bg.test");
}

TEST_F(ServerResolverTest, LegacySrvWhenNoMatrixFed) {
  const Discovery d = discover("legacy.bg.test");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->route, Route::kLegacySrv);
  EXPECT_EQ(d.result->targets, (std::vector<ConnectTarget>{{ip("127.0.0.2"), 9002}}));
}

TEST_F(ServerResolverTest, AddressFallbackOn8448) {
  const Discovery d = discover("dual.bg.test");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->route, Route::kDefaultPort);
  EXPECT_EQ(d.result->targets,
            (std::vector<ConnectTarget>{{ip("::1"), 8448}, {ip("127.0.0.4"), 8448}}));
}

TEST_F(ServerResolverTest, ExplicitPortThroughCname) {
  const Discovery d = discover("alias.bg.test:8000");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->route, Route::kExplicitPort);
  EXPECT_EQ(d.result->targets, (std::vector<ConnectTarget>{{ip("127.0.0.1"), 8000}}));
  EXPECT_EQ(d.result->host_header, "alias.bg.test:8000");
  EXPECT_TRUE(fetches_.empty());
}

TEST_F(ServerResolverTest, SrvWeightsOrderTargets) {
  int heavy_first = 0;
  constexpr int kRuns = 200;
  for (int i = 0; i < kRuns; ++i) {
    const Discovery d = discover("weighted.bg.test");
    ASSERT_TRUE(d.result.ok()) << log_text(d);
    ASSERT_EQ(d.result->targets.size(), 2u);
    if (d.result->targets[0].port == 7001) ++heavy_first;
  }
  // 90:10 weights; with 200 draws anything outside [140, 198] has odds far below 1e-9.
  EXPECT_GE(heavy_first, 140);
  EXPECT_LE(heavy_first, 198);
}

TEST_F(ServerResolverTest, WellKnownDelegationUsesRealDns) {
  HttpsReply reply;
  reply.status = 200;
  reply.body = R"({"m.server":"deleg.bg.test"})";
  reply.headers = {{"Cache-Control", "max-age=600"}};
  web_["wk.bg.test"] = reply;
  Discovery d = discover("wk.bg.test");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->route, Route::kDelegatedSrv);
  EXPECT_EQ(d.result->targets, (std::vector<ConnectTarget>{{ip("127.0.0.2"), 8449}}));
  EXPECT_EQ(d.result->tls_name, "deleg.bg.test");
  EXPECT_EQ(d.result->host_header, "deleg.bg.test");
  EXPECT_EQ(fetches_.size(), 1u);
  auto cached = cache_.find("wk.bg.test");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->delegated->text, "deleg.bg.test");
  // The second resolution is served from the well-known cache.
  d = discover("wk.bg.test");
  ASSERT_TRUE(d.result.ok());
  EXPECT_EQ(fetches_.size(), 1u);
  const auto& m = resolver_->metrics();
  EXPECT_EQ(m.well_known_fetched.load(), 1u);
  EXPECT_EQ(m.well_known_cache_hits.load(), 1u);
  EXPECT_EQ(m.resolved[static_cast<std::size_t>(Route::kDelegatedSrv)].load(), 2u);
  EXPECT_EQ(m.latency_count.load(), 2u);
}

TEST_F(ServerResolverTest, LoopbackAnswerOutsideTheAllowListIsRefused) {
  Discovery d = discover("loop.bg.test:8448");
  ASSERT_FALSE(d.result.ok());
  EXPECT_EQ(d.result.error().code, "ssrf_refused");
  EXPECT_NE(log_text(d).find("127.0.0.99"), std::string::npos);

  d = discover("srvloop.bg.test");
  ASSERT_FALSE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result.error().code, "ssrf_refused");
  EXPECT_EQ(resolver_->metrics().failed[0].load(), 2u);  // "ssrf_refused"
}

TEST_F(ServerResolverTest, MappedLoopbackIsJudgedAsIpv4) {
  options_.guard = AddressGuard();  // nothing allowed
  Discovery d = discover("mapped.bg.test:8448");
  ASSERT_FALSE(d.result.ok());
  EXPECT_EQ(d.result.error().code, "ssrf_refused");
  options_.guard = AddressGuard::from_strings({"127.0.0.1/32"}).value();
  d = discover("mapped.bg.test:8448");
  ASSERT_TRUE(d.result.ok()) << log_text(d);
  EXPECT_EQ(d.result->targets, (std::vector<ConnectTarget>{{ip("127.0.0.1"), 8448}}));
}

TEST_F(ServerResolverTest, UnknownNameHasNoAddress) {
  const Discovery d = discover("missing.bg.test");
  ASSERT_FALSE(d.result.ok());
  EXPECT_EQ(d.result.error().code, "no_address");
  auto cached = cache_.find("missing.bg.test");
  ASSERT_TRUE(cached);
  EXPECT_FALSE(cached->delegated);
}

TEST_F(ServerResolverTest, DestroyingMidFlightDropsCallbacks) {
  bool called = false;
  resolver_->resolve("srv.bg.test", [&](Discovery) { called = true; });
  EXPECT_EQ(resolver_->in_flight(), 1u);
  resolver_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace bordergate::discovery
