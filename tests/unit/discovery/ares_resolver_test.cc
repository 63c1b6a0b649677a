// The c-ares resolver against a real dnsmasq on loopback: record parsing, NXDOMAIN versus no data,
// CNAME chasing, deadlines, cancellation and clean shutdown of every libuv handle.
#include "gateway/discovery/ares_resolver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "tests/unit/discovery/dns_records.h"
#include "tests/unit/discovery/dnsmasq_fixture.h"

namespace bordergate::discovery {
namespace {

using testing::Dnsmasq;

class AresResolverTest : public ::testing::Test {
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
    ResolverOptions options;
    options.servers = {dnsmasq_->server()};
    auto resolver = AresResolver::create(&loop_, options);
    ASSERT_TRUE(resolver.ok()) << resolver.error().message;
    resolver_ = std::move(*resolver);
  }

  void TearDown() override {
    if (!resolver_) return;
    resolver_.reset();
    EXPECT_EQ(testing::drain_and_close(&loop_), 0);
  }

  DnsAnswer ask(const std::string& name, DnsType type) {
    std::optional<DnsAnswer> result;
    resolver_->query({name, type}, [&](DnsAnswer answer) { result = std::move(answer); });
    EXPECT_TRUE(testing::run_until(&loop_, [&] { return result.has_value(); }));
    return result.value_or(DnsAnswer{});
  }

  static Dnsmasq* dnsmasq_;
  uv_loop_t loop_{};
  std::unique_ptr<AresResolver> resolver_;
};

Dnsmasq* AresResolverTest::dnsmasq_ = nullptr;

TEST_F(AresResolverTest, AnswersAAndAaaa) {
  auto a = ask("dual.bg.test", DnsType::kA);
  ASSERT_FALSE(a.error) << a.error->message;
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].to_string(), "127.0.0.4");
  auto aaaa = ask("dual.bg.test", DnsType::kAaaa);
  ASSERT_FALSE(aaaa.error) << aaaa.error->message;
  ASSERT_EQ(aaaa.addresses.size(), 1u);
  EXPECT_EQ(aaaa.addresses[0].to_string(), "::1");
  auto mapped = ask("mapped.bg.test", DnsType::kAaaa);
  ASSERT_FALSE(mapped.error);
  ASSERT_EQ(mapped.addresses.size(), 1u);
  EXPECT_EQ(mapped.addresses[0].to_string(), "::ffff:127.0.0.1");
}

TEST_F(AresResolverTest, FollowsCnameForAddresses) {
  auto a = ask("alias.bg.test", DnsType::kA);
  ASSERT_FALSE(a.error) << a.error->message;
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].to_string(), "127.0.0.1");
}

TEST_F(AresResolverTest, ParsesSrvRecords) {
  auto answer = ask("_matrix-fed._tcp.srv.bg.test", DnsType::kSrv);
  ASSERT_FALSE(answer.error) << answer.error->message;
  ASSERT_EQ(answer.srv.size(), 3u);
  std::sort(answer.srv.begin(), answer.srv.end(),
            [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  EXPECT_EQ(answer.srv[0].target, "t2.bg.test");
  EXPECT_EQ(answer.srv[0].port, 8002);
  EXPECT_EQ(answer.srv[0].priority, 5);
  EXPECT_EQ(answer.srv[2].target, "t3.bg.test");
  EXPECT_EQ(answer.srv[2].port, 8003);
  auto weighted = ask("_matrix-fed._tcp.weighted.bg.test", DnsType::kSrv);
  ASSERT_EQ(weighted.srv.size(), 2u);
  EXPECT_EQ(weighted.srv[0].weight + weighted.srv[1].weight, 100);
}

TEST_F(AresResolverTest, DistinguishesNxdomainFromNoData) {
  auto missing = ask("nothing.bg.test", DnsType::kA);
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, "nxdomain");
  EXPECT_TRUE(missing.no_record());
  auto no_aaaa = ask("t1.bg.test", DnsType::kAaaa);
  ASSERT_TRUE(no_aaaa.error);
  EXPECT_TRUE(no_aaaa.no_record()) << no_aaaa.error->code;
  auto no_srv = ask("_matrix-fed._tcp.legacy.bg.test", DnsType::kSrv);
  ASSERT_TRUE(no_srv.error);
  EXPECT_TRUE(no_srv.no_record()) << no_srv.error->code;
}

// A/AAAA consult the hosts file first (as getaddrinfo does), one family at a time; SRV never.
// The file is a temporary one named by c-ares' CARES_HOSTS, never the machine's /etc/hosts.
TEST_F(AresResolverTest, HostsFileAnswersAddressesBeforeDns) {
  char path[] = "/tmp/bg-hosts-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string hosts =
      "# a comment\n"
      "127.0.0.7 dual.bg.test hostsonly.bg.test\n"  // dnsmasq: dual is 127.0.0.4, hostsonly unknown
      "::2 six.bg.test\n"
      "127.0.0.8 _matrix-fed._tcp.srv.bg.test\n";  // an address entry never answers SRV
  ASSERT_EQ(::write(fd, hosts.data(), hosts.size()), static_cast<ssize_t>(hosts.size()));
  ::close(fd);
  ::setenv("CARES_HOSTS", path, 1);

  // What each question gets: the addresses, or the error code.
  const struct {
    const char* name;
    DnsType type;
    const char* answer;
  } cases[] = {
      {"dual.bg.test", DnsType::kA, "127.0.0.7"},       // the file wins over DNS
      {"hostsonly.bg.test", DnsType::kA, "127.0.0.7"},  // a name DNS does not know
      {"dual.bg.test", DnsType::kAaaa, "::1"},          // no IPv6 entry in the file: DNS
      {"six.bg.test", DnsType::kAaaa, "::2"},
      {"hostsonly.bg.test", DnsType::kAaaa, "nxdomain"},  // in neither: DNS's answer
      {"nothing.bg.test", DnsType::kA, "nxdomain"},
      {"t1.bg.test", DnsType::kAaaa, "no_data"},
  };
  for (const auto& c : cases) {
    const DnsAnswer answer = ask(c.name, c.type);
    std::string got = answer.error ? answer.error->code : "";
    for (const IpAddress& address : answer.addresses) got += address.to_string();
    EXPECT_EQ(got, c.answer) << c.name << " " << dns_type_name(c.type);
  }
  auto srv = ask("_matrix-fed._tcp.srv.bg.test", DnsType::kSrv);
  ASSERT_FALSE(srv.error) << srv.error->message;
  EXPECT_EQ(srv.srv.size(), 3u);

  ::unsetenv("CARES_HOSTS");
  ::unlink(path);
}

TEST_F(AresResolverTest, ManyConcurrentQueries) {
  int answered = 0;
  for (int i = 0; i < 50; ++i) {
    resolver_->query({i % 2 ? "t1.bg.test" : "t2.bg.test", DnsType::kA}, [&](DnsAnswer answer) {
      EXPECT_FALSE(answer.error);
      ++answered;
    });
  }
  EXPECT_EQ(resolver_->pending(), 50u);
  EXPECT_TRUE(testing::run_until(&loop_, [&] { return answered == 50; }));
  EXPECT_EQ(resolver_->pending(), 0u);
}

TEST_F(AresResolverTest, CancelledQueryNeverCallsBack) {
  bool called = false;
  auto id = resolver_->query({"t1.bg.test", DnsType::kA}, [&](DnsAnswer) { called = true; });
  resolver_->cancel(id);
  bool other = false;
  resolver_->query({"t2.bg.test", DnsType::kA}, [&](DnsAnswer) { other = true; });
  EXPECT_TRUE(testing::run_until(&loop_, [&] { return other; }));
  EXPECT_FALSE(called);
}

TEST_F(AresResolverTest, AnswersNeverArriveInsideQuery) {
  bool inside = true;
  bool called = false;
  // An invalid name makes c-ares fail synchronously; delivery must still wait for the loop.
  resolver_->query({std::string(300, 'a') + ".bg.test", DnsType::kA}, [&](DnsAnswer answer) {
    EXPECT_FALSE(inside);
    EXPECT_TRUE(answer.error);
    called = true;
  });
  inside = false;
  EXPECT_TRUE(testing::run_until(&loop_, [&] { return called; }));
}

class AresResolverTimeoutTest : public ::testing::Test {};

TEST_F(AresResolverTimeoutTest, HardDeadlineAnswersTimeout) {
  testing::SilentUdp silent;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ResolverOptions options;
    options.servers = {"127.0.0.1:" + std::to_string(silent.port)};
    options.attempt_timeout_ms = 10000;
    options.tries = 3;
    options.query_timeout_ms = 200;
    auto resolver = AresResolver::create(&loop, options);
    ASSERT_TRUE(resolver.ok());
    std::optional<DnsAnswer> result;
    (*resolver)->query({"t1.bg.test", DnsType::kA}, [&](DnsAnswer a) { result = std::move(a); });
    ASSERT_TRUE(testing::run_until(&loop, [&] { return result.has_value(); }));
    ASSERT_TRUE(result->error);
    EXPECT_EQ(result->error->code, "timeout");
    EXPECT_FALSE(result->no_record());
    EXPECT_EQ((*resolver)->pending(), 0u);
  }
  EXPECT_EQ(testing::drain_and_close(&loop), 0);
}

TEST_F(AresResolverTimeoutTest, AresTimeoutIsReported) {
  testing::SilentUdp silent;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ResolverOptions options;
    options.servers = {"127.0.0.1:" + std::to_string(silent.port)};
    options.attempt_timeout_ms = 100;
    options.tries = 1;
    options.query_timeout_ms = 30000;
    auto resolver = AresResolver::create(&loop, options);
    ASSERT_TRUE(resolver.ok());
    std::optional<DnsAnswer> result;
    (*resolver)->query({"t1.bg.test", DnsType::kSrv}, [&](DnsAnswer a) { result = std::move(a); });
    ASSERT_TRUE(testing::run_until(&loop, [&] { return result.has_value(); }));
    ASSERT_TRUE(result->error);
    EXPECT_EQ(result->error->code, "timeout");
  }
  EXPECT_EQ(testing::drain_and_close(&loop), 0);
}

TEST_F(AresResolverTimeoutTest, DestroyWithPendingQueriesIsSilentAndClean) {
  testing::SilentUdp silent;
  uv_loop_t loop;
  uv_loop_init(&loop);
  bool called = false;
  {
    ResolverOptions options;
    options.servers = {"127.0.0.1:" + std::to_string(silent.port)};
    auto resolver = AresResolver::create(&loop, options);
    ASSERT_TRUE(resolver.ok());
    for (int i = 0; i < 5; ++i) {
      (*resolver)->query({"t1.bg.test", DnsType::kA}, [&](DnsAnswer) { called = true; });
    }
    uv_run(&loop, UV_RUN_NOWAIT);  // let the queries reach the socket
  }
  EXPECT_EQ(testing::drain_and_close(&loop), 0);
  EXPECT_FALSE(called);
}

TEST(AresResolverOptionsTest, RejectsBadServerList) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ResolverOptions options;
    options.servers = {"not an address"};
    auto resolver = AresResolver::create(&loop, options);
    ASSERT_FALSE(resolver.ok());
    EXPECT_EQ(resolver.error().code, "invalid_resolver");
  }
  EXPECT_EQ(testing::drain_and_close(&loop), 0);
}

}  // namespace
}  // namespace bordergate::discovery
