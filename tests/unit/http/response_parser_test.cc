// The upstream response parser: heads, streamed bodies in every framing,
// interim responses, HEAD, and malformed responses.
#include "gateway/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace bordergate {
namespace {

struct Collector final : ResponseSink {
  int heads = 0;
  int status = 0;
  std::string body;
  int completes = 0;
  bool chunked = false;
  bool has_body = true;
  std::optional<std::uint64_t> content_length;
  void on_response_head(HttpResponseHead& h) override {
    ++heads;
    status = h.status;
    chunked = h.chunked;
    has_body = h.has_body;
    content_length = h.content_length;
  }
  void on_response_body(const char* d, size_t n) override { body.append(d, n); }
  void on_response_complete() override { ++completes; }
};

TEST(ResponseParser, Framings) {
  struct Case {
    const char* name;
    std::string data;
    bool head_request;
    int status;
    std::string body;
    bool keep_alive;
  } cases[] = {
      {"content_length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, "hello",
       true},
      {"chunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
       false, 200, "abcde", true},
      {"no_content", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, "", true},
      {"not_modified_with_length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false,
       304, "", true},
      {"head", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, 200, "", true},
      {"interim_skipped",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false,
       201, "ok", true},
      {"connection_close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
       false, 200, "x", false},
      {"http10", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, 200, "x", false},
  };
  for (const Case& c : cases) {
    for (bool split : {false, true}) {
      Collector sink;
      ResponseParser p(sink);
      p.start(c.head_request);
      bool ok = true;
      if (split) {
        for (size_t i = 0; i < c.data.size() && ok; ++i) ok = p.feed(c.data.data() + i, 1);
      } else {
        ok = p.feed(c.data.data(), c.data.size());
      }
      ASSERT_TRUE(ok) << c.name << ": " << p.error();
      EXPECT_TRUE(p.complete()) << c.name;
      EXPECT_EQ(sink.heads, 1) << c.name;
      EXPECT_EQ(sink.status, c.status) << c.name;
      EXPECT_EQ(sink.body, c.body) << c.name;
      EXPECT_EQ(sink.completes, 1) << c.name;
      EXPECT_EQ(p.keep_alive(), c.keep_alive) << c.name;
    }
  }
}

TEST(ResponseParser, CloseDelimitedBodyEndsAtFinish) {
  Collector sink;
  ResponseParser p(sink);
  p.start(false);
  std::string data = "HTTP/1.1 200 OK\r\n\r\nstream until close";
  ASSERT_TRUE(p.feed(data.data(), data.size()));
  EXPECT_FALSE(p.complete());
  EXPECT_TRUE(p.finish());
  EXPECT_EQ(sink.body, "stream until close");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, TruncatedBodyIsAnError) {
  Collector sink;
  ResponseParser p(sink);
  p.start(false);
  std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  ASSERT_TRUE(p.feed(data.data(), data.size()));
  EXPECT_FALSE(p.finish());
}

TEST(ResponseParser, ExtraBytesMeanNoReuse) {
  Collector sink;
  ResponseParser p(sink);
  p.start(false);
  std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxGARBAGE";
  ASSERT_TRUE(p.feed(data.data(), data.size()));
  EXPECT_TRUE(p.complete());
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, MalformedResponsesRejected) {
  for (std::string data : {
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n0\r\n\r\n"),
           std::string(
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n"),
           std::string("NOT HTTP\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: ") + std::string(70000, 'a') + "\r\n\r\n",
       }) {
    Collector sink;
    ResponseParser p(sink);
    p.start(false);
    EXPECT_FALSE(p.feed(data.data(), data.size())) << data.substr(0, 80);
  }
}

}  // namespace
}  // namespace bordergate
