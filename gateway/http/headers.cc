#include "gateway/http/headers.h"

#include <charconv>

#include "gateway/http/error_response.h"

namespace bordergate {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Does the comma-separated token list `list` contain `name`?
bool list_contains(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.size() == name.size()) {
      bool eq = true;
      for (size_t i = 0; i < item.size() && eq; ++i) eq = lower(item[i]) == lower(name[i]);
      if (eq) return true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

}  // namespace

bool iequals_lower(std::string_view text, std::string_view lower_name) {
  if (text.size() != lower_name.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != lower_name[i]) return false;
  }
  return true;
}

std::optional<std::string_view> HeaderList::find(std::string_view lower_name) const {
  for (const HeaderField& f : *this) {
    if (iequals_lower(f.name, lower_name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

bool is_hop_by_hop(std::string_view name, const HeaderList& headers) {
  static constexpr std::string_view kFixed[] = {"connection", "keep-alive", "proxy-connection",
                                                "te",         "trailer",    "transfer-encoding",
                                                "upgrade"};
  for (std::string_view h : kFixed) {
    if (iequals_lower(name, h)) return true;
  }
  // A Connection header may name further hop-by-hop fields, but never an end-to-end field the
  // receiver relies on: a peer writing "Connection: host" must not make the Core see the
  // gateway's internal upstream address as Host, nor "Connection: authorization" strip the
  // X-Matrix signature, nor an answer lose its Content-Type (RFC 9110 7.6.1: such options are
  // not for fields meant for every recipient).
  static constexpr std::string_view kEndToEnd[] = {"host", "authorization", "content-type",
                                                   "content-length", "content-encoding"};
  for (std::string_view h : kEndToEnd) {
    if (iequals_lower(name, h)) return false;
  }
  for (const HeaderField& f : headers) {
    if (iequals_lower(f.name, "connection") && list_contains(f.value, name)) return true;
  }
  return false;
}

void append_upstream_request_head(std::string& out, const HttpRequest& request,
                                  std::string_view client_ip, std::string_view fallback_host) {
  out += request.method;
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\n";
  bool has_host = false;
  for (const HeaderField& f : request.headers) {
    std::string_view n = f.name;
    if (is_hop_by_hop(n, request.headers) || iequals_lower(n, "content-length") ||
        iequals_lower(n, "expect") || iequals_lower(n, "x-forwarded-for") ||
        iequals_lower(n, "x-forwarded-proto") || iequals_lower(n, "forwarded")) {
      continue;
    }
    has_host = has_host || iequals_lower(n, "host");
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
  if (!has_host) {
    // Only an HTTP/1.0 client can omit Host; HTTP/1.1 towards Core needs one.
    out += "Host: ";
    out += fallback_host;
    out += "\r\n";
  }
  out += "X-Forwarded-For: ";
  out += client_ip;
  out += "\r\nX-Forwarded-Proto: https\r\n";
  if (request.had_framing || !request.body.empty()) {
    out += "Content-Length: ";
    append_number(out, request.body.size());
    out += "\r\n";
  }
  out += "\r\n";
}

BodyFraming downstream_framing(const HttpResponseHead& head, int client_version_minor) {
  if (!head.has_body) return BodyFraming::none;
  if (head.content_length) return BodyFraming::content_length;
  return client_version_minor >= 1 ? BodyFraming::chunked : BodyFraming::close_delimited;
}

void append_downstream_response_head(std::string& out, const HttpResponseHead& head,
                                     BodyFraming framing, bool close_connection) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(head.status));
  out += ' ';
  if (head.reason.empty())
    out += status_reason(head.status);
  else
    out += head.reason;
  out += "\r\n";
  for (const HeaderField& f : head.headers) {
    if (is_hop_by_hop(f.name, head.headers)) continue;
    // Content-Length is kept for HEAD/304 (it describes the entity) and for
    // length-delimited bodies; with chunked re-framing it would conflict.
    if (iequals_lower(f.name, "content-length") && framing != BodyFraming::content_length &&
        framing != BodyFraming::none) {
      continue;
    }
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
  if (framing == BodyFraming::chunked) out += "Transfer-Encoding: chunked\r\n";
  if (close_connection || framing == BodyFraming::close_delimited) out += "Connection: close\r\n";
  out += "\r\n";
}

}  // namespace bordergate
