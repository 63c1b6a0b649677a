#include "gateway/enforcement/classifier.h"

#include <array>
#include <optional>

#include "gateway/matrix/ed25519.h"

namespace bordergate::enforcement {
namespace {

constexpr std::size_t kMaxSegments = 12;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into {"a","b","c"}; false when there are too many segments.
bool split_path(std::string_view path, std::array<std::string_view, kMaxSegments>& out,
                std::size_t& count) {
  count = 0;
  std::size_t pos = 1;  // past the leading '/'
  while (true) {
    const std::size_t slash = path.find('/', pos);
    const std::string_view seg =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (count == kMaxSegments) return false;
    out[count++] = seg;
    if (slash == std::string_view::npos) return true;
    pos = slash + 1;
  }
}

std::string* param_slot(PathParams& p, std::string_view name) {
  if (name == "roomId") return &p.room_id;
  if (name == "eventId") return &p.event_id;
  if (name == "userId") return &p.user_id;
  if (name == "serverName") return &p.server_name;
  if (name == "txnId") return &p.txn_id;
  if (name == "mediaId") return &p.media_id;
  if (name == "queryType") return &p.query_type;
  if (name == "keyId") return &p.key_id;
  return nullptr;  // {fileName} only names a download: matched and ignored
}

// Matches the split raw path against one template; fills params on success.
bool match_route(std::string_view templ, const std::array<std::string_view, kMaxSegments>& segs,
                 std::size_t count, PathParams& params) {
  std::size_t i = 0;
  std::size_t pos = 1;
  while (pos <= templ.size()) {
    const std::size_t slash = templ.find('/', pos);
    const std::string_view t =
        templ.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (i >= count) return false;
    if (t.size() > 2 && t.front() == '{' && t.back() == '}') {
      std::optional<std::string> decoded = percent_decode_segment(segs[i]);
      if (!decoded) return false;
      std::string* slot = param_slot(params, t.substr(1, t.size() - 2));
      if (slot != nullptr) *slot = std::move(*decoded);
    } else if (t != segs[i]) {
      return false;
    }
    ++i;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return i == count;
}

// Splits and checks the path of `target` as classify_endpoint does (origin-form, no fragment,
// no empty, dot or badly escaped segment).
Status split_checked(std::string_view target, std::array<std::string_view, kMaxSegments>& segs,
                     std::size_t& count) {
  if (target.empty() || target.front() != '/')
    return make_error("bad_path", "not an origin-form path");
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.find('#') != std::string_view::npos) return make_error("bad_path", "fragment in path");
  if (!split_path(path, segs, count)) return make_error("unknown_endpoint", "too many segments");
  for (std::size_t i = 0; i < count; ++i) {
    if (segs[i].empty()) return make_error("bad_path", "empty path segment");
    std::optional<std::string> decoded = percent_decode_segment(segs[i]);
    if (!decoded) return make_error("bad_path", "invalid percent-encoding or NUL in the path");
    if (*decoded == "." || *decoded == "..")
      return make_error("bad_path", "dot segment in the path");
  }
  return {};
}

bool is_legacy_media(policy::FederationEndpoint e) {
  return e == policy::FederationEndpoint::media_legacy_download ||
         e == policy::FederationEndpoint::media_legacy_thumbnail;
}

// The /vN/ of a route; 0 for the legacy media family's r0.
int version_of(std::string_view templ) {
  if (templ.find("/r0/") != std::string_view::npos) return 0;
  const std::size_t v = templ.find("/v");
  if (v == std::string_view::npos || v + 2 >= templ.size()) return 1;
  return templ[v + 2] - '0';
}

}  // namespace

bool is_key_id(std::string_view key_id) {
  const std::size_t colon = key_id.find(':');
  return colon != std::string_view::npos && matrix::is_valid_key_version(key_id.substr(0, colon)) &&
         matrix::is_valid_key_version(key_id.substr(colon + 1));
}

std::optional<std::string> percent_decode_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      if (i + 2 >= segment.size()) return std::nullopt;
      const int hi = hex_value(segment[i + 1]);
      const int lo = hex_value(segment[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

namespace {

std::optional<std::string> form_decode(std::string_view s) {
  std::string plus(s);
  for (char& c : plus) {
    if (c == '+') c = ' ';
  }
  return percent_decode_segment(plus);
}

}  // namespace

bool allow_remote_false(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = target.substr(q + 1);
  int seen = 0;
  bool is_false = false;
  while (true) {
    const std::size_t end = query.find_first_of("&;");
    const std::string_view pair = query.substr(0, end);
    const std::size_t eq = pair.find('=');
    const std::optional<std::string> name = form_decode(pair.substr(0, eq));
    if (!name) return false;
    if (*name == "allow_remote") {
      ++seen;
      const std::optional<std::string> value =
          eq == std::string_view::npos ? std::nullopt : form_decode(pair.substr(eq + 1));
      is_false = value && *value == "false";
    } else if (eq != std::string_view::npos && !form_decode(pair.substr(eq + 1))) {
      return false;
    }
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return seen == 1 && is_false;
}

namespace {

// The catalogue lookup over a path split_checked accepted.
Result<Classification> classify_segments(std::string_view method,
                                         const std::array<std::string_view, kMaxSegments>& segs,
                                         std::size_t count) {
  bool path_known = false;
  for (const policy::EndpointInfo& info : policy::endpoint_catalogue()) {
    for (std::uint8_t r = 0; r < info.routes.size(); ++r) {
      const policy::EndpointRoute& route = info.routes[r];
      if (route.path.empty()) continue;
      PathParams params;
      if (!match_route(route.path, segs, count, params)) continue;
      // query/{queryType} would also match query/directory and query/profile: the specific
      // entries come first in the catalogue and win.
      path_known = true;
      if (route.method != method) continue;
      // Synapse up to 1.73 asks /key/v2/server/ed25519%3Aabc: the decoded id must be a key id.
      if (route.path.ends_with("{keyId}") && !is_key_id(params.key_id))
        return make_error("bad_path", "the key id in the path is not <algorithm>:<version>");
      Classification c;
      c.endpoint = info.endpoint;
      c.route = r;
      c.api_version = version_of(route.path);
      c.params = std::move(params);
      c.legacy_media = is_legacy_media(info.endpoint);
      return c;
    }
  }
  if (path_known) return make_error("method_not_allowed", "method not allowed on this endpoint");
  return make_error("unknown_endpoint", "not a federation or key endpoint");
}

}  // namespace

Result<Classification> classify_endpoint(std::string_view method, std::string_view target) {
  // Origin-form only: absolute-form and asterisk-form never route.
  std::array<std::string_view, kMaxSegments> segs{};
  std::size_t count = 0;
  if (Status s = split_checked(target, segs, count); !s) return s.error();
  return classify_segments(method, segs, count);
}

Result<Classification> classify_outbound_endpoint(std::string_view method,
                                                  std::string_view target) {
  std::array<std::string_view, kMaxSegments> segs{};
  std::size_t count = 0;
  if (Status s = split_checked(target, segs, count); !s) return s.error();
  Result<Classification> c = classify_segments(method, segs, count);
  // The Core's legacy media requests are judged as the federation media they stand in for.
  if (c && c->endpoint == policy::FederationEndpoint::media_legacy_download)
    c->endpoint = policy::FederationEndpoint::media_download;
  if (c && c->endpoint == policy::FederationEndpoint::media_legacy_thumbnail)
    c->endpoint = policy::FederationEndpoint::media_thumbnail;
  return c;
}

}  // namespace bordergate::enforcement
