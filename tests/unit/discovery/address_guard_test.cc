// The SSRF address guard: every special range, the embedded-IPv4 schemes, and the operator allow
// list. Pure: nothing here opens a socket.
#include "gateway/discovery/address_guard.h"

#include <gtest/gtest.h>

namespace bordergate::discovery {
namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

struct ClassCase {
  const char* address;
  AddressClass expected;
};

TEST(AddressGuardTest, ClassifiesEveryRange) {
  const ClassCase cases[] = {
      // IPv4
      {"0.0.0.0", AddressClass::kUnspecified},
      {"0.1.2.3", AddressClass::kThisNetwork},
      {"10.0.0.1", AddressClass::kPrivate},
      {"10.255.255.255", AddressClass::kPrivate},
      {"100.64.0.1", AddressClass::kSharedAddress},
      {"100.127.255.254", AddressClass::kSharedAddress},
      {"127.0.0.1", AddressClass::kLoopback},
      {"127.0.0.99", AddressClass::kLoopback},
      {"127.255.255.255", AddressClass::kLoopback},
      {"169.254.169.254", AddressClass::kLinkLocal},
      {"172.16.0.1", AddressClass::kPrivate},
      {"172.31.255.255", AddressClass::kPrivate},
      {"192.0.0.8", AddressClass::kReserved},
      {"192.0.2.1", AddressClass::kDocumentation},
      {"192.88.99.1", AddressClass::kReserved},
      {"192.168.1.1", AddressClass::kPrivate},
      {"198.18.0.1", AddressClass::kBenchmarking},
      {"198.19.255.255", AddressClass::kBenchmarking},
      {"198.51.100.7", AddressClass::kDocumentation},
      {"203.0.113.9", AddressClass::kDocumentation},
      {"224.0.0.1", AddressClass::kMulticast},
      {"239.255.255.250", AddressClass::kMulticast},
      {"240.0.0.1", AddressClass::kReserved},
      {"254.1.2.3", AddressClass::kReserved},
      {"255.255.255.255", AddressClass::kBroadcast},
      // IPv4 neighbours that are global
      {"1.1.1.1", AddressClass::kGlobal},
      {"9.255.255.255", AddressClass::kGlobal},
      {"11.0.0.0", AddressClass::kGlobal},
      {"100.63.255.255", AddressClass::kGlobal},
      {"100.128.0.0", AddressClass::kGlobal},
      {"126.255.255.255", AddressClass::kGlobal},
      {"128.0.0.0", AddressClass::kGlobal},
      {"169.253.255.255", AddressClass::kGlobal},
      {"172.15.255.255", AddressClass::kGlobal},
      {"172.32.0.0", AddressClass::kGlobal},
      {"192.0.1.255", AddressClass::kGlobal},
      {"192.167.255.255", AddressClass::kGlobal},
      {"198.17.255.255", AddressClass::kGlobal},
      {"198.20.0.0", AddressClass::kGlobal},
      {"223.255.255.255", AddressClass::kGlobal},
      // IPv6
      {"::", AddressClass::kUnspecified},
      {"::1", AddressClass::kLoopback},
      {"::2", AddressClass::kIpv4Compatible},
      {"::8.8.8.8", AddressClass::kIpv4Compatible},
      {"::ffff:127.0.0.1", AddressClass::kLoopback},
      {"::ffff:10.0.0.1", AddressClass::kPrivate},
      {"::ffff:169.254.169.254", AddressClass::kLinkLocal},
      {"::ffff:8.8.8.8", AddressClass::kGlobal},
      {"64:ff9b::7f00:1", AddressClass::kLoopback},       // NAT64 of 127.0.0.1
      {"64:ff9b::a9fe:a9fe", AddressClass::kLinkLocal},   // NAT64 of 169.254.169.254
      {"64:ff9b::808:808", AddressClass::kGlobal},        // NAT64 of 8.8.8.8
      {"64:ff9b:1::1", AddressClass::kReserved},
      {"100::1", AddressClass::kReserved},
      {"2001::1", AddressClass::kTeredo},
      {"2001:2::1", AddressClass::kBenchmarking},
      {"2001:db8::1", AddressClass::kDocumentation},
      {"2001:10::1", AddressClass::kReserved},            // ORCHID
      {"2002:7f00:1::1", AddressClass::kLoopback},        // 6to4 of 127.0.0.1
      {"2002:a00:1::1", AddressClass::kPrivate},          // 6to4 of 10.0.0.1
      {"2002:808:808::1", AddressClass::kGlobal},         // 6to4 of 8.8.8.8
      {"3fff::1", AddressClass::kDocumentation},
      {"5f00::1", AddressClass::kReserved},
      {"fc00::1", AddressClass::kUniqueLocal},
      {"fd12:3456::1", AddressClass::kUniqueLocal},
      {"fe80::1", AddressClass::kLinkLocal},
      {"febf::1", AddressClass::kLinkLocal},
      {"fec0::1", AddressClass::kSiteLocal},
      {"ff02::1", AddressClass::kMulticast},
      {"ff0e::1", AddressClass::kMulticast},
      {"4000::1", AddressClass::kReserved},               // outside 2000::/3
      {"1::1", AddressClass::kReserved},
      {"2606:4700:4700::1111", AddressClass::kGlobal},
      {"2a01:4f8::1", AddressClass::kGlobal},
      {"2001:4860::8888", AddressClass::kGlobal},         // beyond 2001::/23
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    const auto classification = classify_address(ip(c.address));
    EXPECT_EQ(address_class_name(classification.address_class), address_class_name(c.expected));
  }
}

TEST(AddressGuardTest, EmbeddedV4IsReported) {
  EXPECT_TRUE(classify_address(ip("::ffff:127.0.0.1")).judged_by_embedded_v4);
  EXPECT_TRUE(classify_address(ip("64:ff9b::7f00:1")).judged_by_embedded_v4);
  EXPECT_TRUE(classify_address(ip("2002:a00:1::1")).judged_by_embedded_v4);
  EXPECT_FALSE(classify_address(ip("::1")).judged_by_embedded_v4);
  EXPECT_EQ(classify_address(ip("169.254.169.254")).range, "169.254.0.0/16");
}

TEST(AddressGuardTest, DefaultGuardRefusesEverySpecialAddress) {
  const AddressGuard guard;
  for (const char* address : {"10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "::1",
                              "127.0.0.99", "0.0.0.0", "::", "fe80::1", "fd00::1", "224.0.0.1",
                              "255.255.255.255", "192.0.2.1", "198.18.0.1", "240.0.0.1",
                              "100.64.0.1", "64:ff9b::a00:1", "2001:db8::1"}) {
    SCOPED_TRACE(address);
    EXPECT_FALSE(guard.check(ip(address)).allowed);
    auto status = guard.admit(ip(address));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, "ssrf_refused");
  }
  EXPECT_TRUE(guard.check(ip("8.8.8.8")).allowed);
  EXPECT_FALSE(guard.check(ip("8.8.8.8")).allowed_by_operator);
  EXPECT_TRUE(guard.admit(ip("2606:4700:4700::1111")).ok());
}

TEST(AddressGuardTest, RefusalMessageNamesTheRange) {
  const AddressGuard guard;
  auto status = guard.admit(ip("::ffff:169.254.169.254"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("link_local"), std::string::npos);
  EXPECT_NE(status.error().message.find("embedded IPv4"), std::string::npos);
  EXPECT_NE(status.error().message.find("169.254.0.0/16"), std::string::npos);
}

TEST(AddressGuardTest, OperatorAllowListOpensOnlyItsRanges) {
  auto guard = AddressGuard::from_strings({"127.0.0.0/8", "fd00:1234::/32"});
  ASSERT_TRUE(guard.ok());
  const auto loopback = guard->check(ip("127.0.0.99"));
  EXPECT_TRUE(loopback.allowed);
  EXPECT_TRUE(loopback.allowed_by_operator);
  EXPECT_EQ(loopback.classification.address_class, AddressClass::kLoopback);
  // The mapped form reaches the same IPv4 host, so the IPv4 range covers it.
  EXPECT_TRUE(guard->check(ip("::ffff:127.0.0.1")).allowed);
  EXPECT_TRUE(guard->check(ip("fd00:1234::5")).allowed);
  EXPECT_FALSE(guard->check(ip("fd00:1235::5")).allowed);
  EXPECT_FALSE(guard->check(ip("::1")).allowed);            // IPv6 loopback is not in 127/8
  EXPECT_FALSE(guard->check(ip("10.0.0.1")).allowed);
  EXPECT_FALSE(guard->check(ip("169.254.169.254")).allowed);
  // NAT64 of 127.0.0.1 reaches the translator's loopback, not ours: not covered by 127/8.
  EXPECT_FALSE(guard->check(ip("64:ff9b::7f00:1")).allowed);
}

TEST(AddressGuardTest, SingleAddressAllowEntry) {
  auto guard = AddressGuard::from_strings({"::1", "127.0.0.1"});
  ASSERT_TRUE(guard.ok());
  EXPECT_TRUE(guard->check(ip("::1")).allowed);
  EXPECT_TRUE(guard->check(ip("127.0.0.1")).allowed);
  EXPECT_FALSE(guard->check(ip("127.0.0.2")).allowed);
}

TEST(AddressGuardTest, BadAllowEntriesAreRejected) {
  for (const char* bad : {"127.0.0.1/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
                          "example.org/8", "10.0.0.0/8x", "fe80::1/10", "", "/8"}) {
    SCOPED_TRACE(bad);
    auto guard = AddressGuard::from_strings({bad});
    ASSERT_FALSE(guard.ok());
    EXPECT_EQ(guard.error().code, "invalid_cidr");
  }
}

TEST(CidrTest, ContainsRespectsPrefixBits) {
  const Cidr range = Cidr::parse("172.16.0.0/12").value();
  EXPECT_TRUE(range.contains(ip("172.16.0.0")));
  EXPECT_TRUE(range.contains(ip("172.31.255.255")));
  EXPECT_FALSE(range.contains(ip("172.32.0.0")));
  EXPECT_FALSE(range.contains(ip("::ffff:172.16.0.1")));  // families never mix in Cidr
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").value().contains(ip("8.8.8.8")));
  EXPECT_TRUE(Cidr::parse("::/0").value().contains(ip("::1")));
  EXPECT_EQ(Cidr::parse("fe80::/10").value().to_string(), "fe80::/10");
}

TEST(IpAddressTest, ParsesAndPrints) {
  EXPECT_EQ(ip("127.0.0.1").to_string(), "127.0.0.1");
  EXPECT_EQ(ip("2001:DB8:0:0::1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::ffff:127.0.0.1").unmapped(), ip("127.0.0.1"));
  EXPECT_EQ(ip("::1").unmapped(), ip("::1"));
  for (const char* bad : {"", "1.2.3", "127.1", "1.2.3.4.5", "::g", "[::1]", "fe80::1%lo", "01.2.3.4"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(IpAddress::parse(bad).ok());
  }
}

}  // namespace
}  // namespace bordergate::discovery
