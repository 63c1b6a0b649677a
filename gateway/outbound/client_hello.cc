#include "gateway/outbound/client_hello.h"

#include <set>
#include <vector>

#include "gateway/common/ascii.h"

namespace bordergate::outbound {
namespace {

constexpr std::uint8_t kHandshake = 0x16;
constexpr std::uint8_t kClientHelloType = 0x01;
constexpr std::size_t kMaxRecord = 16384 + 256;  // TLSPlaintext limit with some slack for 1.0
constexpr std::size_t kMaxHello = 64 * 1024;

// Big-endian reader that fails instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  bool u8(std::uint32_t& v) { return n(1, v); }
  bool u16(std::uint32_t& v) { return n(2, v); }
  bool u24(std::uint32_t& v) { return n(3, v); }
  bool bytes(std::size_t len, std::span<const std::uint8_t>& out) {
    if (b_.size() - pos_ < len) return false;
    out = b_.subspan(pos_, len);
    pos_ += len;
    return true;
  }
  bool skip_vector(std::size_t length_bytes) {
    std::uint32_t len = 0;
    std::span<const std::uint8_t> ignored;
    return n(length_bytes, len) && bytes(len, ignored);
  }
  bool empty() const { return pos_ == b_.size(); }

 private:
  bool n(std::size_t k, std::uint32_t& v) {
    if (b_.size() - pos_ < k) return false;
    v = 0;
    for (std::size_t i = 0; i < k; ++i) v = (v << 8) | b_[pos_++];
    return true;
  }
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

Error malformed(const char* what) {
  return make_error("malformed_client_hello", std::string("ClientHello: ") + what);
}

Result<std::optional<std::string>> parse_server_name_extension(std::span<const std::uint8_t> data) {
  Reader r(data);
  std::uint32_t list_len = 0;
  std::span<const std::uint8_t> list;
  if (!r.u16(list_len) || !r.bytes(list_len, list) || !r.empty() || list_len == 0) {
    return make_error("bad_server_name_extension", "server_name extension is malformed");
  }
  Reader entries(list);
  std::optional<std::string> host;
  while (!entries.empty()) {
    std::uint32_t type = 0, len = 0;
    std::span<const std::uint8_t> name;
    if (!entries.u8(type) || !entries.u16(len) || !entries.bytes(len, name)) {
      return make_error("bad_server_name_extension", "server_name entry is truncated");
    }
    if (type != 0) continue;  // unknown name types are skipped (RFC 6066 §3)
    if (host) return make_error("bad_server_name_extension", "more than one host_name");
    if (name.empty() || name.size() > 255) {
      return make_error("bad_server_name_extension", "host_name length out of range");
    }
    for (auto c : name) {
      if (c <= 0x20 || c >= 0x7f) {
        return make_error("bad_server_name_extension", "host_name is not printable ASCII");
      }
    }
    host.emplace(reinterpret_cast<const char*>(name.data()), name.size());
  }
  return host;
}

Result<ClientHelloInfo> parse_hello_body(std::span<const std::uint8_t> body) {
  Reader r(body);
  std::uint32_t version = 0;
  std::span<const std::uint8_t> random;
  if (!r.u16(version) || !r.bytes(32, random)) return malformed("truncated header");
  if (!r.skip_vector(1)) return malformed("session id");
  if (!r.skip_vector(2)) return malformed("cipher suites");
  if (!r.skip_vector(1)) return malformed("compression methods");
  ClientHelloInfo info;
  if (r.empty()) return info;  // no extensions at all: no SNI
  std::uint32_t ext_len = 0;
  std::span<const std::uint8_t> extensions;
  if (!r.u16(ext_len) || !r.bytes(ext_len, extensions) || !r.empty()) {
    return malformed("extensions block");
  }
  Reader ext(extensions);
  std::set<std::uint32_t> seen;
  while (!ext.empty()) {
    std::uint32_t type = 0, len = 0;
    std::span<const std::uint8_t> data;
    if (!ext.u16(type) || !ext.u16(len) || !ext.bytes(len, data)) return malformed("extension");
    // A duplicate extension is a fatal error in TLS (RFC 8446 §4.2); two server_names could let a
    // TLS library and this check disagree about which name was asked for.
    if (!seen.insert(type).second) return malformed("duplicate extension");
    if (type == 0) {
      auto sni = parse_server_name_extension(data);
      if (!sni) return sni.error();
      info.server_name = std::move(*sni);
    }
  }
  return info;
}

}  // namespace

HelloSniff sniff_client_hello(std::span<const std::uint8_t> bytes) {
  const std::size_t n = bytes.size();
  if (n >= 1 && bytes[0] != kHandshake) return HelloSniff::kNotTls;
  if (n >= 2 && bytes[1] != 0x03) return HelloSniff::kNotTls;
  if (n >= 3 && (bytes[2] < 0x01 || bytes[2] > 0x03)) return HelloSniff::kNotTls;
  if (n >= 5) {
    const std::size_t len = (std::size_t{bytes[3]} << 8) | bytes[4];
    if (len < 4 || len > kMaxRecord) return HelloSniff::kNotTls;
  }
  if (n >= 6 && bytes[5] != kClientHelloType) return HelloSniff::kNotTls;
  return n >= 6 ? HelloSniff::kClientHello : HelloSniff::kNeedMore;
}

Result<std::optional<ClientHelloInfo>> parse_client_hello(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> handshake;  // the fragments of the handshake message, reassembled
  std::size_t pos = 0;
  while (true) {
    const auto rest = bytes.subspan(pos);
    const HelloSniff first = pos == 0 ? sniff_client_hello(rest) : HelloSniff::kClientHello;
    if (first == HelloSniff::kNotTls) return make_error("not_tls", "not a TLS ClientHello");
    if (rest.size() < 5) return std::optional<ClientHelloInfo>{};
    if (pos > 0 && (rest[0] != kHandshake || rest[1] != 0x03)) {
      return malformed("ClientHello continues in a non-handshake record");
    }
    const std::size_t len = (std::size_t{rest[3]} << 8) | rest[4];
    if (len == 0 || len > kMaxRecord) return malformed("record length");
    if (rest.size() < 5 + len) return std::optional<ClientHelloInfo>{};
    handshake.insert(handshake.end(), rest.begin() + 5, rest.begin() + 5 + len);
    pos += 5 + len;
    if (handshake.size() >= 4) {
      if (handshake[0] != kClientHelloType) return make_error("not_tls", "not a ClientHello");
      const std::size_t body_len =
          (std::size_t{handshake[1]} << 16) | (std::size_t{handshake[2]} << 8) | handshake[3];
      if (body_len + 4 > kMaxHello) {
        return make_error("client_hello_too_large", "ClientHello larger than 64 KiB");
      }
      if (handshake.size() >= body_len + 4) {
        // Bytes after the ClientHello in the same record would be a second handshake message
        // before the server spoke: not something a real client sends.
        if (handshake.size() != body_len + 4) return malformed("trailing handshake data");
        auto info = parse_hello_body(std::span(handshake).subspan(4, body_len));
        if (!info) return info.error();
        info->consumed = pos;
        return std::optional<ClientHelloInfo>(std::move(*info));
      }
    }
    if (pos >= kMaxHello) return make_error("client_hello_too_large", "ClientHello too large");
  }
}

Status check_sni_matches(const ConnectTarget& target, const std::optional<std::string>& sni) {
  if (target.name.is_ip_literal()) {
    if (sni) return make_error("sni_on_ip_target", "SNI sent for an IP-literal CONNECT target");
    return {};
  }
  if (!sni) return make_error("sni_missing", "no SNI for a DNS-name CONNECT target");
  if (!ascii_iequals(*sni, target.name.host)) {
    return make_error("sni_mismatch", "SNI differs from the CONNECT host");
  }
  return {};
}

namespace {

// The part every gate shares: a ClientHello, whole. kPass here only means "complete"; the caller
// judges the SNI (left in server_name).
TunnelGateVerdict read_client_hello(std::span<const std::uint8_t> bytes) {
  TunnelGateVerdict v;
  // Cheap header test first: a peer sending plain HTTP is turned away after 1 byte, not after
  // whatever it manages to send before the parser would give up.
  if (sniff_client_hello(bytes) == HelloSniff::kNotTls) {
    v.action = TunnelGateVerdict::Action::kClose;
    v.reason = "not_tls";
    return v;
  }
  auto hello = parse_client_hello(bytes);
  if (!hello) {
    v.action = TunnelGateVerdict::Action::kClose;
    v.reason = hello.error().code;
    return v;
  }
  if (!hello->has_value()) return v;  // kNeedMore
  v.server_name = (*hello)->server_name;
  v.action = TunnelGateVerdict::Action::kPass;
  return v;
}

}  // namespace

TunnelGateVerdict gate_tunnel(const ConnectTarget& target, std::span<const std::uint8_t> bytes) {
  TunnelGateVerdict v = read_client_hello(bytes);
  if (v.action != TunnelGateVerdict::Action::kPass) return v;
  if (auto st = check_sni_matches(target, v.server_name); !st) {
    v.action = TunnelGateVerdict::Action::kClose;
    v.reason = st.error().code;
  }
  return v;
}

TunnelGateVerdict gate_delegated_tunnel(std::span<const std::uint8_t> bytes) {
  TunnelGateVerdict v = read_client_hello(bytes);
  if (v.action != TunnelGateVerdict::Action::kPass) return v;
  v.action = TunnelGateVerdict::Action::kClose;
  if (!v.server_name) {
    v.reason = "sni_missing";
    return v;
  }
  auto name = discovery::parse_server_name(*v.server_name);
  if (!name || name->is_ip_literal() || name->port) {
    v.reason = "sni_invalid";
    return v;
  }
  v.action = TunnelGateVerdict::Action::kPass;
  return v;
}

}  // namespace bordergate::outbound
