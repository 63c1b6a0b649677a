// The request parser: valid requests in every framing, and the table of
// malformed and ambiguous requests (request smuggling) that must be refused.
#include "gateway/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace bordergate {
namespace {

const std::string H = "Host: core.example\r\n";
const std::string P = "PUT /_matrix/federation/v1/send/1 HTTP/1.1\r\n";
const std::string G = "GET /_matrix/federation/v1/version HTTP/1.1\r\n";

RequestLimits small_limits() { return RequestLimits{1024, 10, 100}; }

struct Parsed {
  RequestParser::State state;
  size_t consumed;
  int status;
  std::string reason;
};

// Feeds everything at once, or byte by byte when `split`.
Parsed parse(RequestParser& p, const std::string& data, bool split) {
  if (!split) {
    auto out = p.feed(data.data(), data.size());
    return {out.state, out.consumed, p.error().status, p.error().reason};
  }
  size_t consumed = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    auto out = p.feed(data.data() + i, 1);
    consumed += out.consumed;
    if (out.state != RequestParser::State::need_more) {
      return {out.state, consumed, p.error().status, p.error().reason};
    }
  }
  return {RequestParser::State::need_more, consumed, 0, ""};
}

struct Rejected {
  const char* name;
  std::string data;
  int status;
};

TEST(RequestParser, RefusesAmbiguousAndMalformedRequests) {
  const Rejected cases[] = {
      {"cl_and_te", P + H + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
       400},
      {"te_and_cl", P + H + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n", 400},
      {"duplicate_cl_different", P + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       400},
      {"duplicate_cl_same", P + H + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"cl_list", P + H + "Content-Length: 5, 5\r\n\r\nhello", 400},
      {"cl_negative", P + H + "Content-Length: -1\r\n\r\n", 400},
      {"cl_plus", P + H + "Content-Length: +5\r\n\r\nhello", 400},
      {"cl_hex", P + H + "Content-Length: 0x5\r\n\r\nhello", 400},
      {"cl_suffix", P + H + "Content-Length: 5x\r\n\r\nhello", 400},
      {"cl_huge", P + H + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {"space_before_colon", P + H + "Content-Length : 5\r\n\r\nhello", 400},
      {"obs_fold", G + H + "X-Folded: a\r\n  b\r\n\r\n", 400},
      {"obs_fold_tab", G + H + "X-Folded: a\r\n\tb\r\n\r\n", 400},
      {"whitespace_before_first_header", G + " " + H + "\r\n", 400},
      {"bare_lf_everywhere", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"bare_lf_in_header", G + H + "X-A: 1\nX-B: 2\r\n\r\n", 400},
      {"bare_lf_end_of_head", G + H + "\n", 400},
      {"bare_cr", G + H + "X-A: 1\rX-B: 2\r\n\r\n", 400},
      {"nul_in_header", G + H + std::string("X-A: a\0b\r\n\r\n", 12), 400},
      {"ctl_in_header_value", G + H + "X-A: a\x01b\r\n\r\n", 400},
      {"del_in_header_value", G + H + "X-A: a\x7f" "b\r\n\r\n", 400},
      {"ctl_in_target", "GET /a\x01 HTTP/1.1\r\n" + H + "\r\n", 400},
      {"space_in_target", "GET /a b HTTP/1.1\r\n" + H + "\r\n", 400},
      {"nul_in_target", std::string("GET /a\0b HTTP/1.1\r\n", 19) + H + "\r\n", 400},
      {"te_gzip", P + H + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"te_chunked_gzip", P + H + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"te_gzip_chunked", P + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_identity", P + H + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"te_xchunked", P + H + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
      {"te_twice",
       P + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_vertical_tab",
       P + H +
           "Transfer-Encoding:\x0b"
           "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"te_http10", "PUT /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunk_size_garbage", P + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk_size_0x", P + H + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_overflow",
       P + H + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_negative", P + H + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk_data_too_long", P + H + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk_bare_lf", P + H + "Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", 400},
      {"header_name_space", G + H + "X Bad: 1\r\n\r\n", 400},
      {"empty_header_name", G + H + ": value\r\n\r\n", 400},
      {"header_name_non_token", G + H + "X(Bad): 1\r\n\r\n", 400},
      {"request_line_double_space", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"request_line_tab", "GET\t/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"request_line_trailing_space", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400},
      {"bad_version", "GET / HTTP/1.7\r\n" + H + "\r\n", 400},
      {"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"http09", "GET /\r\n\r\n", 400},
      {"missing_host", G + "\r\n", 400},
      {"duplicate_host", G + H + "Host: evil.example\r\n\r\n", 400},
      {"absolute_form", "GET http://evil.example/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"asterisk_form", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", 400},
      {"connect", "CONNECT evil.example:443 HTTP/1.1\r\n" + H + "\r\n", 405},
      {"trace", "TRACE / HTTP/1.1\r\n" + H + "\r\n", 405},
      {"unknown_method", "BREW / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"expect_other", P + H + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417},
      {"body_over_limit_cl", P + H + "Content-Length: 101\r\n\r\n", 413},
      {"body_over_limit_chunked",
       P + H + "Transfer-Encoding: chunked\r\n\r\n65\r\n" + std::string(101, 'a') + "\r\n0\r\n\r\n",
       413},
      {"header_bytes_over_limit", G + H + "X-Big: " + std::string(1100, 'a') + "\r\n\r\n", 431},
      {"too_many_headers",
       G + H +
           "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\nJ: 1\r\n\r\n",
       431},
      {"long_target", "GET /" + std::string(1100, 'a') + " HTTP/1.1\r\n" + H + "\r\n", 431},
  };
  for (bool split : {false, true}) {
    for (const Rejected& c : cases) {
      RequestParser p(small_limits());
      Parsed r = parse(p, c.data, split);
      EXPECT_EQ(r.state, RequestParser::State::error)
          << c.name << (split ? " (byte by byte)" : "") << " was not refused";
      EXPECT_EQ(r.status, c.status)
          << c.name << (split ? " (byte by byte)" : "") << ": " << r.reason;
    }
  }
}

TEST(RequestParser, AcceptsWellFormedRequests) {
  struct Good {
    const char* name;
    std::string data;
    const char* method;
    const char* target;
    std::string body;
  } cases[] = {
      {"get", G + H + "\r\n", "GET", "/_matrix/federation/v1/version", ""},
      {"put_cl", P + H + "Content-Length: 5\r\n\r\nhello", "PUT", "/_matrix/federation/v1/send/1",
       "hello"},
      {"put_cl_zero", P + H + "Content-Length: 0\r\n\r\n", "PUT", "/_matrix/federation/v1/send/1",
       ""},
      {"put_chunked",
       P + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "PUT",
       "/_matrix/federation/v1/send/1", "hello world"},
      {"chunked_upper", P + H + "transfer-encoding: CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
       "PUT", "/_matrix/federation/v1/send/1", "0123456789"},
      {"chunk_extension", P + H + "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n",
       "PUT", "/_matrix/federation/v1/send/1", "hello"},
      {"trailers_dropped",
       P + H + "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Trailer: t\r\n\r\n", "PUT",
       "/_matrix/federation/v1/send/1", "x"},
      {"encoded_target_kept",
       "GET /_matrix/federation/v1/state/%21room%3Aexample.org?event_id=%24e HTTP/1.1\r\n" + H +
           "\r\n",
       "GET", "/_matrix/federation/v1/state/%21room%3Aexample.org?event_id=%24e", ""},
      {"dot_segments_kept", "GET /_matrix/../federation/./v1 HTTP/1.1\r\n" + H + "\r\n", "GET",
       "/_matrix/../federation/./v1", ""},
      {"http10_no_host", "GET / HTTP/1.0\r\n\r\n", "GET", "/", ""},
      {"body_at_limit", P + H + "Content-Length: 100\r\n\r\n" + std::string(100, 'b'), "PUT",
       "/_matrix/federation/v1/send/1", std::string(100, 'b')},
      {"leading_crlf", "\r\n" + G + H + "\r\n", "GET", "/_matrix/federation/v1/version", ""},
      {"ows_around_value", G + "Host:   core.example  \r\n\r\n", "GET",
       "/_matrix/federation/v1/version", ""},
  };
  for (bool split : {false, true}) {
    for (const Good& c : cases) {
      RequestParser p(small_limits());
      Parsed r = parse(p, c.data, split);
      ASSERT_EQ(r.state, RequestParser::State::complete)
          << c.name << (split ? " (byte by byte)" : "") << ": " << r.reason;
      EXPECT_EQ(r.consumed, c.data.size()) << c.name;
      EXPECT_EQ(p.request().method, c.method) << c.name;
      EXPECT_EQ(p.request().target, c.target) << c.name;
      EXPECT_EQ(p.request().body, c.body) << c.name;
    }
  }
}

TEST(RequestParser, HeadersKeptInOrderWithRepeats) {
  RequestParser p(small_limits());
  std::string data = G + H +
                     "Authorization: X-Matrix origin=a\r\nAuthorization: X-Matrix origin=b\r\n"
                     "X-Empty:\r\n\r\n";
  ASSERT_EQ(p.feed(data.data(), data.size()).state, RequestParser::State::complete);
  const HeaderList& h = p.request().headers;
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[1].name, "Authorization");
  EXPECT_EQ(h[1].value, "X-Matrix origin=a");
  EXPECT_EQ(h[2].value, "X-Matrix origin=b");
  EXPECT_EQ(h[3].name, "X-Empty");
  EXPECT_EQ(h[3].value, "");
}

TEST(RequestParser, PipelinedRequestsAreSeparated) {
  RequestParser p(small_limits());
  std::string first = P + H + "Content-Length: 3\r\n\r\nabc";
  std::string second = G + H + "\r\n";
  std::string data = first + second;
  auto out = p.feed(data.data(), data.size());
  ASSERT_EQ(out.state, RequestParser::State::complete);
  EXPECT_EQ(out.consumed, first.size());
  EXPECT_EQ(p.request().body, "abc");
  p.reset();
  out = p.feed(data.data() + first.size(), data.size() - first.size());
  ASSERT_EQ(out.state, RequestParser::State::complete);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_TRUE(p.request().body.empty());
}

TEST(RequestParser, KeepAliveAndExpect) {
  struct Case {
    std::string data;
    bool keep_alive;
    bool expect_continue;
  } cases[] = {
      {G + H + "\r\n", true, false},
      {G + H + "Connection: close\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false},
      {P + H + "Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx", true, true},
  };
  for (const Case& c : cases) {
    RequestParser p(small_limits());
    ASSERT_EQ(p.feed(c.data.data(), c.data.size()).state, RequestParser::State::complete) << c.data;
    EXPECT_EQ(p.request().keep_alive, c.keep_alive) << c.data;
    EXPECT_EQ(p.request().expect_continue, c.expect_continue) << c.data;
  }
}

TEST(RequestParser, HeadersCompleteIsVisibleBeforeTheBody) {
  RequestParser p(small_limits());
  std::string head = P + H + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  auto out = p.feed(head.data(), head.size());
  EXPECT_EQ(out.state, RequestParser::State::need_more);
  EXPECT_TRUE(p.headers_complete());
  EXPECT_TRUE(p.request().expect_continue);
  out = p.feed("hello", 5);
  EXPECT_EQ(out.state, RequestParser::State::complete);
}

TEST(RequestParser, ResetClearsEverything) {
  RequestParser p(small_limits());
  std::string bad = G + H + "X-A: 1\nX\r\n\r\n";
  EXPECT_EQ(p.feed(bad.data(), bad.size()).state, RequestParser::State::error);
  p.reset();
  std::string good = G + H + "\r\n";
  EXPECT_EQ(p.feed(good.data(), good.size()).state, RequestParser::State::complete);
  EXPECT_EQ(p.request().headers.size(), 1u);
}

}  // namespace
}  // namespace bordergate
