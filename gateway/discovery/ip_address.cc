#include "gateway/discovery/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace bordergate::discovery {

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  const std::uint8_t bytes[4] = {a, b, c, d};
  return v4_from_bytes(bytes);
}

IpAddress IpAddress::v4_from_bytes(const std::uint8_t* bytes) {
  IpAddress out;
  out.family_ = Family::kV4;
  std::memcpy(out.bytes_.data(), bytes, 4);
  return out;
}

IpAddress IpAddress::v6_from_bytes(const std::uint8_t* bytes) {
  IpAddress out;
  out.family_ = Family::kV6;
  std::memcpy(out.bytes_.data(), bytes, 16);
  return out;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; longer input cannot be an address anyway.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return make_error("invalid_ip_address", "not an IP address");
  }
  char buffer[INET6_ADDRSTRLEN + 1];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::uint8_t bytes[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, bytes) == 1) return v4_from_bytes(bytes);
  } else if (inet_pton(AF_INET6, buffer, bytes) == 1) {
    return v6_from_bytes(bytes);
  }
  return make_error("invalid_ip_address", "not an IP address: " + std::string(text));
}

std::optional<IpAddress> IpAddress::mapped_v4() const {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!is_v6() || std::memcmp(bytes_.data(), kPrefix, 12) != 0) return std::nullopt;
  return v4_from_bytes(bytes_.data() + 12);
}

IpAddress IpAddress::unmapped() const {
  if (auto v4 = mapped_v4()) return *v4;
  return *this;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

void IpAddress::to_sockaddr(std::uint16_t port, sockaddr* out) const {
  if (is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&sin.sin_addr, bytes_.data(), 4);
    std::memcpy(out, &sin, sizeof sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    std::memcpy(&sin6.sin6_addr, bytes_.data(), 16);
    std::memcpy(out, &sin6, sizeof sin6);
  }
}

Cidr::Cidr(IpAddress base, int prefix_length) : base_(base), prefix_(prefix_length) {}

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return make_error("invalid_cidr", "bad address in range: " + std::string(text));
  const int max_prefix = address->is_v4() ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() ||
        end != digits.data() + digits.size() || prefix < 0 || prefix > max_prefix) {
      return make_error("invalid_cidr", "bad prefix length in range: " + std::string(text));
    }
  }
  const auto& bytes = address->bytes();
  for (int bit = prefix; bit < max_prefix; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return make_error("invalid_cidr", "host bits set in range: " + std::string(text));
    }
  }
  return Cidr(*address, prefix);
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.family() != base_.family()) return false;
  const auto& a = address.bytes();
  const auto& b = base_.bytes();
  const int full = prefix_ / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

std::string Cidr::to_string() const { return base_.to_string() + "/" + std::to_string(prefix_); }

}  // namespace bordergate::discovery
