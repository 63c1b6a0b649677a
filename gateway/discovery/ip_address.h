// An IPv4 or IPv6 address as a value (16 bytes + family) and CIDR ranges over it. Text forms
// are parsed with inet_pton, so only the canonical dotted-quad and RFC 4291 forms are accepted.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

struct sockaddr;

namespace bordergate::discovery {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kV4, kV6 };

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  static IpAddress v4_from_bytes(const std::uint8_t* bytes);   // 4 bytes, network order
  static IpAddress v6_from_bytes(const std::uint8_t* bytes);   // 16 bytes, network order
  // "1.2.3.4" or "2001:db8::1" (no brackets, no zone id). Error code "invalid_ip_address".
  static Result<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  // Network-order bytes; only the first 4 are meaningful for IPv4.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::size_t byte_length() const { return is_v4() ? 4 : 16; }

  // The IPv4 address inside ::ffff:a.b.c.d, else nullopt.
  std::optional<IpAddress> mapped_v4() const;
  // The same destination without IPv4-mapped wrapping: a socket connecting to ::ffff:a.b.c.d
  // reaches a.b.c.d, so every check must look at the unwrapped address.
  IpAddress unmapped() const;

  std::string to_string() const;
  // Fills a sockaddr_in / sockaddr_in6 (storage must be sockaddr_storage-sized).
  void to_sockaddr(std::uint16_t port, sockaddr* out) const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::kV4;
  std::array<std::uint8_t, 16> bytes_{};
};

// "10.0.0.0/8", "fe80::/10", or a bare address (a /32 or /128). Host bits must be zero
// ("10.0.0.1/8" is rejected as "invalid_cidr": it usually hides a typo).
class Cidr {
 public:
  static Result<Cidr> parse(std::string_view text);
  Cidr(IpAddress base, int prefix_length);

  bool contains(const IpAddress& address) const;
  const IpAddress& base() const { return base_; }
  int prefix_length() const { return prefix_; }
  std::string to_string() const;

 private:
  IpAddress base_;
  int prefix_ = 0;
};

}  // namespace bordergate::discovery
