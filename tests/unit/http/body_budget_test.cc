// The process-wide budget of buffered bodies (requests and held answers), alone, as leases and in
// the request parser: nothing is reserved from a declared length, a body that cannot fit is
// refused at its headers, bytes are charged as they arrive and given back when the next request
// starts (or the lease ends), small bodies always pass, and the claimed origin's limit refuses at
// the headers.
#include "gateway/http/body_budget.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/http/request_parser.h"

namespace bordergate {
namespace {

constexpr std::uint64_t MiB = 1 << 20;

std::string head(std::uint64_t content_length) {
  return "PUT /_matrix/federation/v1/send/1 HTTP/1.1\r\nHost: core.example\r\nContent-Length: " +
         std::to_string(content_length) + "\r\n\r\n";
}

TEST(BodyBudget, AdmitsChargesAndReleases) {
  BodyBudget b(4 * MiB);
  EXPECT_TRUE(b.admit(3 * MiB));
  EXPECT_FALSE(b.admit(5 * MiB));
  EXPECT_TRUE(b.admit(BodyBudget::kSmallBody));  // small bodies always
  EXPECT_EQ(b.refused(), 1u);
  EXPECT_TRUE(b.charge(3 * MiB, 0));
  EXPECT_FALSE(b.charge(2 * MiB, 0));                               // a large body past the limit
  EXPECT_TRUE(b.charge(2 * MiB, 0) == false && b.charge(1024, 0));  // a small one still fits
  EXPECT_EQ(b.in_use(), 3 * MiB + 1024);
  b.release(3 * MiB + 1024);
  EXPECT_EQ(b.in_use(), 0u);
  EXPECT_EQ(b.trims(), 0u);  // no spike worth a trim
}

TEST(BodyBudget, HandsMemoryBackAfterASpike) {
  BodyBudget b(256 * MiB);  // trims once use falls below 32 MiB after a spike of 64 MiB or more
  ASSERT_TRUE(b.charge(100 * MiB, 0));
  b.release(50 * MiB);
  EXPECT_EQ(b.trims(), 0u);  // still above an eighth of the limit
  b.release(50 * MiB);
  EXPECT_EQ(b.trims(), 1u);
  ASSERT_TRUE(b.charge(1 * MiB, 0));
  b.release(1 * MiB);
  EXPECT_EQ(b.trims(), 1u);  // no new spike
}

TEST(BodyBudget, ABufferGrowsByDoublingWithEachStepChargedFirst) {
  BodyBudget b(8 * MiB);
  BudgetLease lease(&b, BufferKind::answer);
  std::string buffer;
  const std::string piece(MiB, 'a');
  ASSERT_TRUE(lease.make_room(buffer, piece.size(), 6 * MiB));
  buffer += piece;
  EXPECT_EQ(lease.held(), MiB);
  ASSERT_TRUE(lease.make_room(buffer, piece.size(), 6 * MiB));
  buffer += piece;
  EXPECT_EQ(lease.held(), 2 * MiB);  // doubled
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(lease.make_room(buffer, piece.size(), 6 * MiB));
    buffer += piece;
  }
  EXPECT_EQ(lease.held(), 6 * MiB);  // capped at the ceiling, not 8
  EXPECT_EQ(buffer.capacity(), lease.held());  // what is allocated is what is charged
  // Past what fits: refused, the buffer and the charge stay as they were.
  BudgetLease other(&b, BufferKind::request_body);
  std::string big(BodyBudget::kSmallBody + 1, 'b');
  EXPECT_FALSE(other.make_room(big, 4 * MiB, 16 * MiB));
  EXPECT_EQ(other.held(), 0u);
  EXPECT_EQ(big.size(), BodyBudget::kSmallBody + 1);
  EXPECT_EQ(b.in_use(), 6 * MiB);
}

TEST(BodyBudget, ASmallBudgetCountsHalfOfItselfAsASpike) {
  BodyBudget b(64 * MiB);  // never reaches 64 MiB in use with 12 MiB bodies: 60 MiB is a spike
  ASSERT_TRUE(b.charge(60 * MiB, 0));
  b.release(56 * MiB);
  EXPECT_EQ(b.trims(), 1u);  // 4 MiB left, below an eighth of the limit
  ASSERT_TRUE(b.charge(20 * MiB, 0));
  b.release(24 * MiB);
  EXPECT_EQ(b.trims(), 1u);  // 24 MiB is no spike
}

TEST(BodyBudget, TheParserChargesBodiesAsTheyArriveNeverFromTheDeclaredLength) {
  BodyBudget b(8 * MiB);
  RequestLimits limits(16384, 100, 32 * MiB);
  limits.budget = &b;
  RequestParser p(limits);
  const std::string h = head(6 * MiB);
  ASSERT_EQ(p.feed(h.data(), h.size()).state, RequestParser::State::need_more);
  EXPECT_TRUE(p.headers_complete());
  EXPECT_EQ(b.in_use(), 0u);  // nothing reserved for the declared 6 MiB
  EXPECT_LT(p.request().body.capacity(), 64u * 1024);
  const std::string part(MiB, 'x');
  ASSERT_EQ(p.feed(part.data(), part.size()).state, RequestParser::State::need_more);
  EXPECT_GE(b.in_use(), 1 * MiB);
  EXPECT_LE(b.in_use(), 2 * MiB);  // grows by doubling, bounded by what arrived
  for (int i = 1; i < 6; ++i) p.feed(part.data(), part.size());
  EXPECT_EQ(p.request().body.size(), 6 * MiB);
  EXPECT_EQ(b.in_use(), p.request().body.capacity());
  EXPECT_EQ(b.in_use(), 6 * MiB);  // exactly the declared length once it is all there
  // A second large body does not fit while the first is held.
  RequestParser q(limits);
  const std::string h2 = head(4 * MiB);
  EXPECT_EQ(q.feed(h2.data(), h2.size()).state, RequestParser::State::error);
  EXPECT_EQ(q.error().status, 503);
  EXPECT_STREQ(q.error().errcode, "M_UNAVAILABLE");
  // ... but a small one does.
  RequestParser small(limits);
  const std::string h3 = head(100);
  const std::string body(100, 'y');
  small.feed(h3.data(), h3.size());
  EXPECT_EQ(small.feed(body.data(), body.size()).state, RequestParser::State::complete);
  // The next request gives the bytes back.
  p.reset();
  EXPECT_LT(b.in_use(), 1024u);  // the small body's buffer
  small.reset();
  EXPECT_EQ(b.in_use(), 0u);
}

TEST(BodyBudget, ABodyThatOutgrowsTheBudgetMidwayIsRefused) {
  BodyBudget b(2 * MiB);
  RequestLimits limits(16384, 100, 32 * MiB);
  limits.budget = &b;
  RequestParser held(limits);
  const std::string h = head(MiB + MiB / 2);
  held.feed(h.data(), h.size());
  const std::string part(MiB + MiB / 2, 'x');
  held.feed(part.data(), part.size());
  // Chunked: no declared length to refuse at the headers; refused when it stops fitting.
  RequestParser chunked(limits);
  const std::string ch =
      "PUT /_matrix/federation/v1/send/2 HTTP/1.1\r\nHost: core.example\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  chunked.feed(ch.data(), ch.size());
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", static_cast<size_t>(MiB));
  const std::string chunk = std::string(size_line) + std::string(MiB, 'z') + "\r\n";
  EXPECT_EQ(chunked.feed(chunk.data(), chunk.size()).state, RequestParser::State::error);
  EXPECT_EQ(chunked.error().status, 503);
  EXPECT_GE(b.refused(), 1u);
}

TEST(BodyBudget, TheHeadCheckRefusesBeforeTheBody) {
  RequestLimits limits(16384, 100, 32 * MiB);
  int asked = 0;
  limits.head_check = [&](const HttpRequest& r) -> std::optional<GatewayError> {
    ++asked;
    if (r.content_length && *r.content_length > MiB) {
      return GatewayError{413, "M_TOO_LARGE", "larger than this origin may send"};
    }
    return std::nullopt;
  };
  RequestParser p(limits);
  const std::string h = head(2 * MiB);
  EXPECT_EQ(p.feed(h.data(), h.size()).state, RequestParser::State::error);
  EXPECT_EQ(p.error().status, 413);
  EXPECT_EQ(asked, 1);
  RequestParser ok(limits);
  const std::string h2 = head(10);
  EXPECT_EQ(ok.feed(h2.data(), h2.size()).state, RequestParser::State::need_more);
  EXPECT_EQ(asked, 2);
}

TEST(BodyBudget, LeasesChargeByKindAndGiveBackWhenTheyEnd) {
  BodyBudget b(8 * MiB);
  {
    BudgetLease request(&b, BufferKind::request_body);
    BudgetLease answer(&b, BufferKind::answer);
    EXPECT_TRUE(answer.admit(6 * MiB));
    EXPECT_TRUE(answer.grow_to(6 * MiB));
    EXPECT_TRUE(answer.grow_to(5 * MiB));  // never lowers the charge
    EXPECT_EQ(answer.held(), 6 * MiB);
    EXPECT_FALSE(request.admit(4 * MiB));  // the answer holds most of the budget
    EXPECT_FALSE(request.grow_to(4 * MiB));
    EXPECT_EQ(request.held(), 0u);  // nothing charged by a refusal
    EXPECT_TRUE(request.grow_to(BodyBudget::kSmallBody));  // small bodies always
    EXPECT_EQ(b.in_use(BufferKind::answer), 6 * MiB);
    EXPECT_EQ(b.in_use(BufferKind::request_body), BodyBudget::kSmallBody);
    EXPECT_EQ(b.refused(BufferKind::request_body), 2u);
    EXPECT_EQ(b.refused(BufferKind::answer), 0u);
    // Moving a lease moves its charge; the moved-from lease gives nothing back.
    BudgetLease carried = std::move(answer);
    answer.release();
    EXPECT_EQ(b.in_use(BufferKind::answer), 6 * MiB);
    EXPECT_EQ(carried.held(), 6 * MiB);
  }
  EXPECT_EQ(b.in_use(), 0u);
  EXPECT_EQ(b.in_use(BufferKind::answer), 0u);
  EXPECT_EQ(b.refused(), 2u);
  // Without a budget nothing is counted and everything passes.
  BudgetLease none;
  EXPECT_TRUE(none.admit(UINT64_MAX));
  EXPECT_TRUE(none.grow_to(UINT64_MAX));
  EXPECT_EQ(none.held(), 0u);
}

}  // namespace
}  // namespace bordergate
