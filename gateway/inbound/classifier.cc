#include "gateway/inbound/classifier.h"

#include <array>
#include <optional>

namespace bordergate::inbound {
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
  return nullptr;
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

// Synapse (federation_client.py, federation_download_media / download_media) falls back from
// /_matrix/federation/v1/media/download to /_matrix/media/v3/download, and from v3 to r0, when
// the destination answers "unknown endpoint". Thumbnail paths are the same family. The optional
// trailing {fileName} only names the download; it is matched and ignored.
struct LegacyMediaRoute {
  std::string_view path;
  policy::FederationEndpoint endpoint;
  int api_version;  // 3 for v3, 0 for r0
};
constexpr LegacyMediaRoute kLegacyMediaRoutes[] = {
    {"/_matrix/media/v3/download/{serverName}/{mediaId}",
     policy::FederationEndpoint::media_download, 3},
    {"/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}",
     policy::FederationEndpoint::media_download, 3},
    {"/_matrix/media/v3/thumbnail/{serverName}/{mediaId}",
     policy::FederationEndpoint::media_thumbnail, 3},
    {"/_matrix/media/r0/download/{serverName}/{mediaId}",
     policy::FederationEndpoint::media_download, 0},
    {"/_matrix/media/r0/download/{serverName}/{mediaId}/{fileName}",
     policy::FederationEndpoint::media_download, 0},
    {"/_matrix/media/r0/thumbnail/{serverName}/{mediaId}",
     policy::FederationEndpoint::media_thumbnail, 0},
};

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

int version_of(std::string_view templ) {
  const std::size_t v = templ.find("/v");
  if (v == std::string_view::npos || v + 2 >= templ.size()) return 1;
  return templ[v + 2] - '0';
}

}  // namespace

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
      Classification c;
      c.endpoint = info.endpoint;
      c.route = r;
      c.api_version = version_of(route.path);
      c.params = std::move(params);
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
  if (c || c.error().code != "unknown_endpoint") return c;
  for (const LegacyMediaRoute& route : kLegacyMediaRoutes) {
    PathParams params;
    if (!match_route(route.path, segs, count, params)) continue;
    if (method != "GET") {
      return make_error("method_not_allowed", "method not allowed on this endpoint");
    }
    Classification legacy;
    legacy.endpoint = route.endpoint;
    legacy.api_version = route.api_version;
    legacy.params = std::move(params);
    legacy.legacy_media = true;
    return legacy;
  }
  return c;
}

}  // namespace bordergate::inbound
