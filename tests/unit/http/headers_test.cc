// Header rules of the proxy: what reaches Core and what reaches the client.
#include "gateway/http/headers.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/http/error_response.h"
#include "gateway/http/request_parser.h"

namespace bordergate {
namespace {

std::string upstream_head(const std::string& raw, const std::string& client_ip = "192.0.2.7") {
  RequestParser p(RequestLimits{});
  auto out = p.feed(raw.data(), raw.size());
  EXPECT_EQ(out.state, RequestParser::State::complete) << p.error().reason;
  std::string head;
  append_upstream_request_head(head, p.request(), client_ip, "127.0.0.1:8008");
  return head;
}

TEST(UpstreamRequestHead, RewritesOnlyWhatItMust) {
  struct Case {
    const char* name;
    std::string request;
    std::string expected;
  } cases[] = {
      {"plain_get", "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n\r\n",
       "GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.example\r\n"
       "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n\r\n"},
      {"hop_by_hop_removed",
       "GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
       "X-Hop: secret\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Connection: x\r\n"
       "X-End: kept\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: h\r\nX-End: kept\r\nX-Forwarded-For: 192.0.2.7\r\n"
       "X-Forwarded-Proto: https\r\n\r\n"},
      {"connection_cannot_remove_host_or_authorization",
       "GET /a HTTP/1.1\r\nHost: core.example\r\nConnection: host, authorization, x-hop\r\n"
       "Authorization: X-Matrix origin=\"a\"\r\nX-Hop: 1\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: core.example\r\nAuthorization: X-Matrix origin=\"a\"\r\n"
       "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n\r\n"},
      {"incoming_forwarding_headers_dropped",
       "GET /a HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nHost: h\r\nx-forwarded-proto: http\r\n"
       "Forwarded: for=6.6.6.6\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: "
       "https\r\n\r\n"},
      {"authorization_lines_kept_separate",
       "PUT /s HTTP/1.1\r\nHost: h\r\nAuthorization: X-Matrix "
       "origin=\"a\",key=\"ed25519:1\",sig=\"x\"\r\n"
       "Content-Length: 2\r\nAuthorization: X-Matrix "
       "origin=\"a\",key=\"ed25519:2\",sig=\"y\"\r\n\r\n{}",
       "PUT /s HTTP/1.1\r\nHost: h\r\nAuthorization: X-Matrix "
       "origin=\"a\",key=\"ed25519:1\",sig=\"x\"\r\n"
       "Authorization: X-Matrix origin=\"a\",key=\"ed25519:2\",sig=\"y\"\r\n"
       "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nContent-Length: 2\r\n\r\n"},
      {"chunked_becomes_content_length",
       "PUT /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       "PUT /s HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
       "Content-Length: 3\r\n\r\n"},
      {"expect_answered_by_gateway",
       "PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
       "PUT /s HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
       "Content-Length: 1\r\n\r\n"},
      {"empty_put_keeps_zero_length", "PUT /s HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
       "PUT /s HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
       "Content-Length: 0\r\n\r\n"},
      {"target_and_host_byte_for_byte",
       "GET /_matrix/federation/v1/state/%21r%3Ax?event_id=%24E%2f HTTP/1.1\r\nhOsT: "
       "Core.Example:8448\r\n\r\n",
       "GET /_matrix/federation/v1/state/%21r%3Ax?event_id=%24E%2f HTTP/1.1\r\nhOsT: "
       "Core.Example:8448\r\n"
       "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n\r\n"},
      {"http10_gets_host", "GET /a HTTP/1.0\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: 127.0.0.1:8008\r\nX-Forwarded-For: "
       "192.0.2.7\r\nX-Forwarded-Proto: https\r\n\r\n"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(upstream_head(c.request), c.expected) << c.name;
  }
}

TEST(UpstreamRequestHead, Ipv6ClientAddress) {
  EXPECT_NE(upstream_head("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "2001:db8::1")
                .find("X-Forwarded-For: 2001:db8::1\r\n"),
            std::string::npos);
}

HttpResponseHead make_head(int status,
                           std::initializer_list<std::pair<const char*, const char*>> fields) {
  HttpResponseHead h;
  h.status = status;
  h.reason = "OK";
  for (auto& [n, v] : fields) {
    HeaderField& f = h.headers.add();
    f.name = n;
    f.value = v;
  }
  return h;
}

TEST(DownstreamResponseHead, FramingAndHopByHop) {
  HttpResponseHead h = make_head(200, {{"Content-Type", "application/json"},
                                       {"Connection", "keep-alive, X-Internal"},
                                       {"X-Internal", "1"},
                                       {"Keep-Alive", "timeout=99"},
                                       {"Content-Length", "2"}});
  h.content_length = 2;
  BodyFraming f = downstream_framing(h, 1);
  EXPECT_EQ(f, BodyFraming::content_length);
  std::string out;
  append_downstream_response_head(out, h, f, false);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");

  HttpResponseHead chunked = make_head(200, {{"Transfer-Encoding", "chunked"}, {"X-A", "b"}});
  chunked.chunked = true;
  EXPECT_EQ(downstream_framing(chunked, 1), BodyFraming::chunked);
  EXPECT_EQ(downstream_framing(chunked, 0), BodyFraming::close_delimited);
  out.clear();
  append_downstream_response_head(out, chunked, BodyFraming::chunked, true);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nX-A: b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");

  HttpResponseHead head = make_head(200, {{"Content-Length", "10"}});
  head.has_body = false;
  EXPECT_EQ(downstream_framing(head, 1), BodyFraming::none);
  out.clear();
  append_downstream_response_head(out, head, BodyFraming::none, false);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
}

TEST(ErrorResponse, MatrixJson) {
  std::string out;
  append_error_response(out, GatewayError{413, "M_TOO_LARGE", "Request body too large"}, true,
                        AnswerTo::get_or_other);
  EXPECT_EQ(out,
            "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
            "Cache-Control: no-store\r\nContent-Length: 58\r\nConnection: close\r\n\r\n"
            "{\"errcode\":\"M_TOO_LARGE\",\"error\":\"Request body too large\"}");
  out.clear();
  append_error_response(out, GatewayError{502, "M_UNKNOWN", "quote \" and \\ and \n"}, false,
                        AnswerTo::get_or_other);
  EXPECT_NE(out.find("{\"errcode\":\"M_UNKNOWN\",\"error\":\"quote \\\" and \\\\ and \\n\"}"),
            std::string::npos);
  EXPECT_EQ(out.find("Connection: close"), std::string::npos);
}

// A HEAD's answer has the GET's head (its Content-Length included) and no body, so the next
// answer on a keep-alive connection starts right after the head.
TEST(ErrorResponse, HeadAnswersCarryNoBody) {
  const struct {
    GatewayError error;
    bool close;
  } cases[] = {
      {GatewayError{405, "M_UNRECOGNIZED", "Method not allowed on this endpoint"}, false},
      {GatewayError{404, "M_UNRECOGNIZED", "Unrecognized request"}, true},
      {GatewayError{429, "M_LIMIT_EXCEEDED", "Too many requests"}, false},
  };
  for (const auto& c : cases) {
    std::string get, head;
    append_error_response(get, c.error, c.close, AnswerTo::get_or_other);
    append_error_response(head, c.error, c.close, answer_to("HEAD"));
    const std::size_t end = get.find("\r\n\r\n") + 4;
    EXPECT_EQ(head, get.substr(0, end)) << c.error.status;
    EXPECT_GT(get.size(), end) << "the GET answer has a body";
    EXPECT_NE(head.find("Content-Length: " + std::to_string(get.size() - end) + "\r\n"),
              std::string::npos)
        << head;
  }
  EXPECT_EQ(answer_to("GET"), AnswerTo::get_or_other);
  EXPECT_EQ(answer_to("head"), AnswerTo::get_or_other);  // methods are case-sensitive
  EXPECT_EQ(answer_to(""), AnswerTo::get_or_other);
}

TEST(HopByHop, ConnectionListedNames) {
  HeaderList h;
  HeaderField& c = h.add();
  c.name = "Connection";
  c.value = " close ,X-Foo,  x-bar";
  EXPECT_TRUE(is_hop_by_hop("x-foo", h));
  EXPECT_TRUE(is_hop_by_hop("X-BAR", h));
  EXPECT_TRUE(is_hop_by_hop("Transfer-Encoding", h));
  EXPECT_FALSE(is_hop_by_hop("X-Foo-Bar", h));
  EXPECT_FALSE(is_hop_by_hop("Authorization", h));
  EXPECT_FALSE(is_hop_by_hop("Host", h));
}

// A Connection header naming an end-to-end field the receiver relies on removes nothing: the
// Core must see the peer's Host and X-Matrix, a client the answer's Content-Type.
TEST(HopByHop, ConnectionNeverRemovesEndToEndFields) {
  HeaderList h;
  HeaderField& c = h.add();
  c.name = "Connection";
  c.value = "Host, authorization, Content-Type, content-length, Content-Encoding, X-Hop";
  for (const char* kept :
       {"Host", "host", "Authorization", "Content-Type", "Content-Length", "Content-Encoding"}) {
    EXPECT_FALSE(is_hop_by_hop(kept, h)) << kept;
  }
  EXPECT_TRUE(is_hop_by_hop("X-Hop", h));
  EXPECT_TRUE(is_hop_by_hop("Connection", h));
}

}  // namespace
}  // namespace bordergate
