// SRV ordering (RFC 2782) and address-family interleaving.
#include "gateway/discovery/target_order.h"

#include <gtest/gtest.h>

namespace bordergate::discovery {
namespace {

std::vector<std::uint16_t> ports(const std::vector<SrvRecord>& records) {
  std::vector<std::uint16_t> out;
  for (const auto& r : records) out.push_back(r.port);
  return out;
}

TEST(TargetOrderTest, PrioritiesAscend) {
  std::mt19937_64 random(1);
  auto ordered = order_srv_records({{30, 5, 3, "c"}, {10, 5, 1, "a"}, {20, 5, 2, "b"}}, random);
  EXPECT_EQ(ports(ordered), (std::vector<std::uint16_t>{1, 2, 3}));
  EXPECT_TRUE(order_srv_records({}, random).empty());
}

TEST(TargetOrderTest, AllZeroWeightsKeepTheirOrder) {
  std::mt19937_64 random(7);
  auto ordered = order_srv_records({{1, 0, 1, "a"}, {1, 0, 2, "b"}, {1, 0, 3, "c"}}, random);
  EXPECT_EQ(ports(ordered), (std::vector<std::uint16_t>{1, 2, 3}));
}

TEST(TargetOrderTest, ZeroWeightIsRarelyFirst) {
  int zero_first = 0;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    std::mt19937_64 random(seed);
    auto ordered = order_srv_records({{1, 100, 1, "heavy"}, {1, 0, 2, "zero"}}, random);
    ASSERT_EQ(ordered.size(), 2u);
    if (ordered[0].port == 2) ++zero_first;
  }
  // Expected 2000/101 ≈ 20.
  EXPECT_GT(zero_first, 3);
  EXPECT_LT(zero_first, 60);
}

TEST(TargetOrderTest, InterleavesFamilies) {
  auto a = [](const char* t) { return IpAddress::parse(t).value(); };
  const std::vector<IpAddress> in = {a("1.1.1.1"), a("1.1.1.2"), a("1.1.1.3"), a("2606::1")};
  EXPECT_EQ(interleave_families(in, AddressOrder::kIpv6First),
            (std::vector<IpAddress>{a("2606::1"), a("1.1.1.1"), a("1.1.1.2"), a("1.1.1.3")}));
  EXPECT_EQ(interleave_families(in, AddressOrder::kIpv4First),
            (std::vector<IpAddress>{a("1.1.1.1"), a("2606::1"), a("1.1.1.2"), a("1.1.1.3")}));
}

}  // namespace
}  // namespace bordergate::discovery
