// X-Matrix: Authorization header grammar (RFC 9110 §11 credentials as S2S §Request Authentication
// profiles it), the signed request object, verification and signing.
#include "gateway/matrix/xmatrix.h"

#include <arpa/inet.h>

#include <cstring>

#include "gateway/common/ascii.h"

namespace bordergate::matrix {
namespace {

Error bad(std::string what) { return make_error("bad_xmatrix_header", std::move(what)); }

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}
bool is_ows(char c) { return c == ' ' || c == '\t'; }

// App §Server Name: hostname [":" port]; hostname = IPv4 / "[" IPv6 "]" / dns-name.
bool is_server_name(std::string_view name) {
  std::string_view host = name;
  if (!name.empty() && name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    std::string v6(name.substr(1, close - 1));
    in6_addr addr{};
    if (v6.size() < 2 || v6.size() > 45 || inet_pton(AF_INET6, v6.c_str(), &addr) != 1)
      return false;
    host = {};
    name.remove_prefix(close + 1);
    if (name.empty()) return true;
    if (name.front() != ':') return false;
  } else {
    auto colon = name.find(':');
    host = name.substr(0, colon);
    if (host.empty() || host.size() > 255) return false;
    for (char c : host) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.';
      if (!ok) return false;
    }
    if (colon == std::string_view::npos) return true;
    name.remove_prefix(colon);
  }
  std::string_view port = name.substr(1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Writes {"content":..,"destination":..,"method":..,"origin":..,"uri":..} directly: keys are
// already in code-point order, and copying a multi-megabyte body into a JsonObject would be waste.
Result<std::string> signing_bytes_of(const XMatrixRequest& r) {
  for (std::string_view s : {r.method, r.uri, r.origin, r.destination}) {
    if (!is_valid_utf8(s)) return make_error("invalid_utf8", "request field is not valid UTF-8");
  }
  std::string out = "{";
  if (r.content) {
    if (Status s = check_canonical_json(*r.content); !s) return s.error();
    out += "\"content\":";
    append_canonical_json(out, *r.content);
    out += ',';
  }
  out += "\"destination\":";
  append_json_string(out, r.destination);
  out += ",\"method\":";
  append_json_string(out, r.method);
  out += ",\"origin\":";
  append_json_string(out, r.origin);
  out += ",\"uri\":";
  append_json_string(out, r.uri);
  out += '}';
  return out;
}

void append_quoted(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

Result<XMatrixAuth> parse_xmatrix(std::string_view h) {
  std::size_t i = 0;
  auto at = [&](std::size_t pos) { return " at byte " + std::to_string(pos); };
  while (i < h.size() && is_ows(h[i])) ++i;
  std::size_t scheme_start = i;
  while (i < h.size() && is_tchar(h[i])) ++i;
  if (!ascii_iequals(h.substr(scheme_start, i - scheme_start), "X-Matrix")) {
    return make_error("not_xmatrix", "Authorization scheme is not X-Matrix");
  }
  if (i >= h.size() || !is_ows(h[i])) return bad("expected a space after X-Matrix" + at(i));
  while (i < h.size() && is_ows(h[i])) ++i;

  std::optional<std::string> origin, destination, key, sig;
  while (true) {
    while (i < h.size() && (is_ows(h[i]) || h[i] == ',')) ++i;  // empty list elements are allowed
    if (i >= h.size()) break;
    std::size_t name_start = i;
    while (i < h.size() && is_tchar(h[i])) ++i;
    if (i == name_start) return bad("expected a parameter name" + at(i));
    std::string name(h.substr(name_start, i - name_start));
    for (char& c : name) c = ascii_lower(c);
    while (i < h.size() && is_ows(h[i])) ++i;
    if (i >= h.size() || h[i] != '=') return bad("expected '=' after \"" + name + "\"" + at(i));
    ++i;
    while (i < h.size() && is_ows(h[i])) ++i;
    std::string value;
    if (i < h.size() && h[i] == '"') {
      std::size_t open = i++;
      bool closed = false;
      while (i < h.size()) {
        auto c = static_cast<unsigned char>(h[i]);
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\') {
          if (++i >= h.size()) break;
          c = static_cast<unsigned char>(h[i]);
          if (c != '\t' && (c < 0x20 || c == 0x7f))
            return bad("control character in quoted value" + at(i));
        } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
          return bad("control character in quoted value" + at(i));
        }
        value.push_back(static_cast<char>(c));
        ++i;
      }
      if (!closed) return bad("unterminated quoted value opened" + at(open));
    } else {
      std::size_t start = i;
      // Legacy senders leave ':' unquoted (server names with ports, key ids).
      while (i < h.size() && (is_tchar(h[i]) || h[i] == ':')) ++i;
      if (i == start) return bad("expected a token or quoted value for \"" + name + "\"" + at(i));
      value.assign(h.substr(start, i - start));
    }
    while (i < h.size() && is_ows(h[i])) ++i;
    if (i < h.size() && h[i] != ',')
      return bad("expected ',' after the value of \"" + name + "\"" + at(i));

    std::optional<std::string>* slot = nullptr;
    if (name == "origin")
      slot = &origin;
    else if (name == "destination")
      slot = &destination;
    else if (name == "key")
      slot = &key;
    else if (name == "sig" || name == "signature")
      slot = &sig;
    if (!slot) continue;  // unknown parameters are ignored (S2S §Request Authentication)
    if (*slot) return bad("parameter \"" + name + "\" given twice");
    *slot = std::move(value);
  }
  if (!origin || origin->empty()) return bad("missing parameter \"origin\"");
  if (!key || key->empty()) return bad("missing parameter \"key\"");
  if (!sig || sig->empty()) return bad("missing parameter \"sig\"");
  if (destination && destination->empty()) return bad("empty parameter \"destination\"");
  if (!is_server_name(*origin)) return bad("origin is not a valid server name");
  return XMatrixAuth{std::move(*origin), std::move(destination), std::move(*key), std::move(*sig)};
}

Result<std::vector<XMatrixAuth>> parse_xmatrix_headers(std::span<const std::string_view> values) {
  std::vector<XMatrixAuth> out;
  for (std::string_view v : values) {
    auto auth = parse_xmatrix(v);
    if (!auth) {
      if (auth.error().code == "not_xmatrix") continue;
      return auth.error();
    }
    if (!out.empty() && auth->origin != out.front().origin) {
      return make_error("origin_mismatch", "X-Matrix headers name different origins");
    }
    out.push_back(std::move(auth).value());
  }
  if (out.empty()) return make_error("missing_xmatrix", "no X-Matrix Authorization header");
  return out;
}

Result<std::string> xmatrix_signing_bytes(const XMatrixRequest& request) {
  return signing_bytes_of(request);
}

Status verify_xmatrix(const XMatrixAuth& auth, std::string_view method, std::string_view uri,
                      std::string_view our_server_name, const Json* content, const KeyLookup& keys,
                      std::int64_t now_ms) {
  if (auth.destination && *auth.destination != our_server_name) {
    return make_error("wrong_destination", "X-Matrix destination \"" + *auth.destination +
                                               "\" is not " + std::string(our_server_name));
  }
  if (!is_ed25519_key_id(auth.key_id)) {
    return make_error("unknown_key", "unsupported key id \"" + auth.key_id + "\"");
  }
  auto key = keys(auth.origin, auth.key_id, now_ms);
  if (!key) return key.error();
  auto sig = signature_from_base64(auth.signature);
  if (!sig) return sig.error();
  auto bytes = signing_bytes_of({method, uri, auth.origin, our_server_name, content});
  if (!bytes) return bytes.error();
  if (!ed25519_verify(*key, *bytes, *sig)) {
    return make_error("bad_signature", "X-Matrix signature by " + auth.origin + " " + auth.key_id +
                                           " does not verify");
  }
  return {};
}

Result<std::string> verify_xmatrix_all(std::span<const XMatrixAuth> auths, std::string_view method,
                                       std::string_view uri, std::string_view our_server_name,
                                       const Json* content, const KeyLookup& keys,
                                       std::int64_t now_ms) {
  if (auths.empty()) return make_error("missing_xmatrix", "no X-Matrix Authorization header");
  std::optional<Error> skipped;
  int verified = 0;
  for (const auto& auth : auths) {
    if (auth.origin != auths.front().origin) {
      return make_error("origin_mismatch", "X-Matrix headers name different origins");
    }
    Status s = verify_xmatrix(auth, method, uri, our_server_name, content, keys, now_ms);
    if (!s) {
      const auto& code = s.error().code;
      if (code == "unknown_key" || code == "key_expired") {
        skipped = s.error();
        continue;
      }
      return s.error();
    }
    ++verified;
  }
  if (verified == 0) return *skipped;
  return auths.front().origin;
}

Result<std::string> sign_xmatrix(std::string_view method, std::string_view uri,
                                 std::string_view origin, std::string_view destination,
                                 const Json* content, const SigningKey& key) {
  auto bytes = signing_bytes_of({method, uri, origin, destination, content});
  if (!bytes) return bytes.error();
  std::string out = "X-Matrix origin=";
  append_quoted(out, origin);
  out += ",destination=";
  append_quoted(out, destination);
  out += ",key=";
  append_quoted(out, key.key_id());
  out += ",sig=";
  append_quoted(out, to_base64(key.sign(*bytes)));
  return out;
}

}  // namespace bordergate::matrix
