// The CONNECT phase end to end on parsed heads: llhttp head parsing, 405/403 for non-CONNECT,
// 407 with the challenge, 400 for bad targets, 403/200 from admission.
#include "gateway/outbound/connect_answer.h"

#include <gtest/gtest.h>

#include "policy/loader.h"

namespace bordergate::outbound {
namespace {

constexpr const char* kAuth = "Proxy-Authorization: Basic Y29yZTpzM2NyZXQ=\r\n";  // core:s3cret

struct Fixture {
  Fixture() {
    auto out = policy::load_policy_text(R"(
version: 1
server_name: core.example
default: deny
federations:
  partners: {servers: ["*.partner.example"]}
rules:
  - {id: partners-out, federation: partners, direction: outbound, action: allow}
)",
                                        "t.yaml");
    policy = out.policy;
    credentials.emplace(*ProxyCredentials::parse("core:s3cret"));
    egress.emplace(*EgressAllowList::compile({{"push.example.org", "tunnel", {}}}));
    guard.emplace();
    rules = ProxyRules{&*credentials, policy.get(), &*egress, &*guard};
  }
  std::shared_ptr<const policy::Policy> policy;
  std::optional<ProxyCredentials> credentials;
  std::optional<EgressAllowList> egress;
  std::optional<discovery::AddressGuard> guard;
  ProxyRules rules;
};

ConnectHead parse(const std::string& text) {
  ConnectHeadParser parser;
  std::size_t consumed = 0;
  const auto state = parser.feed(text, consumed);
  EXPECT_EQ(ConnectHeadParser::State::kComplete, state) << text << parser.error();
  return parser.head();
}

TEST(ConnectHeadParserTest, StopsAtTheEndOfTheHeadAndKeepsTunnelBytes) {
  const std::string head = "CONNECT a.partner.example:8448 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string text = head + "\x16\x03\x01";
  ConnectHeadParser parser;
  std::size_t consumed = 0;
  ASSERT_EQ(ConnectHeadParser::State::kComplete, parser.feed(text, consumed));
  EXPECT_EQ(head.size(), consumed);
  EXPECT_EQ("CONNECT", parser.head().method);
  EXPECT_EQ("a.partner.example:8448", parser.head().target);
  ASSERT_EQ(1u, parser.head().values("host").size());
}

TEST(ConnectHeadParserTest, IncrementalAndErrors) {
  ConnectHeadParser parser;
  std::size_t consumed = 0;
  EXPECT_EQ(ConnectHeadParser::State::kNeedMore, parser.feed("CONNECT a.b:443 HT", consumed));
  EXPECT_EQ(ConnectHeadParser::State::kNeedMore,
            parser.feed("TP/1.1\r\nHost: a.b:443\r\nX: 1\r\n", consumed));
  EXPECT_EQ(ConnectHeadParser::State::kComplete, parser.feed("\r\n", consumed));
  EXPECT_EQ(2u, consumed);

  // As strict as the federation listener's request parser (issue 16): the same head scanner.
  for (const char* bad : {"CONNECT a.b:443 HTTP/1.1\nHost: a\n\n",      // bare LF
                          "CONNECT a.b:443 HTTP/1.1\rHost: a\r\n\r\n",  // bare CR
                          "CONNECT a.b:443 HTTP/2.0\r\n\r\n",
                          "\x16\x03\x01\x02\x00\x01",  // TLS straight away
                          "CONNECT a.b:443 HTTP/1.1\r\nBad Header: x\r\n\r\n",
                          "CONNECT a.b:443 HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n",
                          "CONNECT  a.b:443 HTTP/1.1\r\nHost: a\r\n\r\n",  // two spaces
                          "CONNECT a.b:443  HTTP/1.1\r\nHost: a\r\n\r\n",
                          "CONNECT\ta.b:443 HTTP/1.1\r\nHost: a\r\n\r\n",
                          "CONNECT a.b:443 HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
                          "CONNECT a.b:443 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
    ConnectHeadParser p;
    EXPECT_EQ(ConnectHeadParser::State::kError, p.feed(bad, consumed)) << bad;
    EXPECT_FALSE(p.error().empty());
  }
  // HTTP/1.0 may omit Host: Synapse's proxy client sends its CONNECT exactly so.
  ConnectHeadParser synapse;
  EXPECT_EQ(ConnectHeadParser::State::kComplete,
            synapse.feed("CONNECT a.b:8448 HTTP/1.0\r\nProxy-Authorization: Basic eA==\r\n\r\n",
                         consumed));
  ConnectHeadParser big;
  const std::string many = "CONNECT a.b:443 HTTP/1.1\r\nX: " + std::string(9000, 'a');
  EXPECT_EQ(ConnectHeadParser::State::kError, big.feed(many, consumed));
}

TEST(ConnectAnswerTest, Table) {
  Fixture f;
  ASSERT_TRUE(f.policy);
  struct Case {
    std::string request;
    int status;
    const char* reason;
  } cases[] = {
      {"CONNECT a.partner.example:8448 HTTP/1.1\r\nHost: a.partner.example:8448\r\n" +
           std::string(kAuth) + "\r\n",
       200, "federation_destination"},
      {"CONNECT push.example.org:443 HTTP/1.1\r\nHost: push.example.org:443\r\n" +
           std::string(kAuth) + "\r\n",
       200, "egress_tunnel"},
      {"CONNECT a.partner.example:8448 HTTP/1.1\r\nHost: x\r\n\r\n", 407,
       "proxy_credentials_missing"},
      {"CONNECT a.partner.example:8448 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic "
       "Y29yZTp3cm9uZw==\r\n\r\n",
       407, "proxy_credentials_invalid"},
      {"CONNECT a.partner.example:8448 HTTP/1.1\r\nHost: a.partner.example:8448\r\n" +
           std::string(kAuth) + kAuth + "\r\n",
       407, "proxy_credentials_invalid"},
      // The target is judged only after the credentials.
      {"CONNECT evil.example:8448 HTTP/1.1\r\nHost: x\r\n\r\n", 407, "proxy_credentials_missing"},
      {"CONNECT evil.example:8448 HTTP/1.1\r\nHost: evil.example:8448\r\n" + std::string(kAuth) +
           "\r\n",
       403, "destination_in_no_federation"},
      {"CONNECT push2.example.org:443 HTTP/1.1\r\nHost: push2.example.org:443\r\n" +
           std::string(kAuth) + "\r\n",
       403, "destination_in_no_federation"},
      {"CONNECT 127.0.0.1:8448 HTTP/1.1\r\nHost: 127.0.0.1:8448\r\n" + std::string(kAuth) + "\r\n",
       403, "ssrf_blocked_address"},
      {"CONNECT a.partner.example HTTP/1.1\r\nHost: a.partner.example\r\n" + std::string(kAuth) +
           "\r\n",
       400, "connect_target_invalid"},
      {"GET http://a.partner.example/_matrix/federation/v1/version HTTP/1.1\r\nHost: "
       "a.partner.example\r\n" +
           std::string(kAuth) + "\r\n",
       403, "plain_http_proxy_refused"},
      {"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_connect"},
  };
  for (const auto& c : cases) {
    const ConnectHead head = parse(c.request);
    const ConnectAnswer a = answer_connect(head, f.rules);
    EXPECT_EQ(c.status, a.status) << c.request;
    EXPECT_EQ(c.reason, a.reason) << c.request;
    const std::string status_line = "HTTP/1.1 " + std::to_string(c.status) + " ";
    EXPECT_EQ(0u, a.response.find(status_line)) << a.response;
    const bool challenged =
        a.response.find("\r\nProxy-Authenticate: Basic realm=") != std::string::npos;
    EXPECT_EQ(c.status == 407, challenged) << a.response;
    if (c.status == 200) {
      EXPECT_EQ("HTTP/1.1 200 Connection established\r\n\r\n", a.response);
      ASSERT_TRUE(a.target.has_value());
    } else {
      EXPECT_NE(std::string::npos, a.response.find("Connection: close\r\n"));
    }
  }
}

}  // namespace
}  // namespace bordergate::outbound
