#include "gateway/outbound/connect_head.h"

namespace bordergate::outbound {
namespace {

ConnectHeadParser& self(llhttp_t* p) { return *static_cast<ConnectHeadParser*>(p->data); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string_view> ConnectHead::values(std::string_view lower_name) const {
  std::vector<std::string_view> out;
  for (const auto& [name, value] : headers) {
    if (name == lower_name) out.emplace_back(value);
  }
  return out;
}

ConnectHeadParser::ConnectHeadParser() {
  llhttp_settings_init(&settings_);
  settings_.on_url = &ConnectHeadParser::on_url;
  settings_.on_header_field = &ConnectHeadParser::on_header_field;
  settings_.on_header_value = &ConnectHeadParser::on_header_value;
  settings_.on_headers_complete = &ConnectHeadParser::on_headers_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

int ConnectHeadParser::fail(std::string reason) {
  if (error_.empty()) error_ = std::move(reason);
  return -1;
}

int ConnectHeadParser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  self(p).head_.target.append(at, len);
  return 0;
}

int ConnectHeadParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  if (s.in_value_ || s.head_.headers.empty()) {
    if (s.head_.headers.size() == kMaxHeaders) return s.fail("too many headers");
    s.head_.headers.emplace_back();
    s.in_value_ = false;
  }
  for (std::size_t i = 0; i < len; ++i) {
    char c = at[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    s.head_.headers.back().first.push_back(c);
  }
  return 0;
}

int ConnectHeadParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  auto& s = self(p);
  s.in_value_ = true;
  s.head_.headers.back().second.append(at, len);
  return 0;
}

int ConnectHeadParser::on_headers_complete(llhttp_t* p) {
  auto& s = self(p);
  s.head_.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  for (auto& [name, value] : s.head_.headers) value = std::string(trim(value));
  if (llhttp_get_http_major(p) != 1) return s.fail("HTTP/1.x required");
  // As on the federation listener: HTTP/1.1 names its Host, once. HTTP/1.0 may omit it, and
  // Synapse's proxy client (Twisted's HTTPClient) sends its CONNECT as HTTP/1.0 without one.
  const std::size_t hosts = s.head_.values("host").size();
  if (hosts > 1) return s.fail("more than one Host header");
  if (llhttp_get_http_minor(p) == 1 && hosts == 0) return s.fail("HTTP/1.1 without Host");
  s.done_ = true;
  // Stop at the end of the head in every case: what follows is tunnel data (CONNECT) or a body
  // the proxy will never read (anything else is refused).
  return HPE_PAUSED;
}

ConnectHeadParser::State ConnectHeadParser::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  if (done_) return State::kComplete;
  if (!error_.empty()) return State::kError;
  if (!scanner_.done()) {
    const HeadScanner::Verdict v = scanner_.scan(data.data(), data.size(), kMaxHeadBytes);
    if (v != HeadScanner::Verdict::ok) {
      fail(v == HeadScanner::Verdict::too_large
               ? std::string("request head too large")
               : std::string("malformed request: ") + HeadScanner::describe(v));
      return State::kError;
    }
  }
  const llhttp_errno_t rc = llhttp_execute(&parser_, data.data(), data.size());
  if (done_ && (rc == HPE_PAUSED || rc == HPE_PAUSED_UPGRADE)) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
    if (head_bytes_ + consumed > kMaxHeadBytes) {
      fail("request head too large");
      return State::kError;
    }
    return State::kComplete;
  }
  if (rc != HPE_OK) {
    fail(error_.empty() ? std::string("malformed request: ") + llhttp_errno_name(rc) : error_);
    return State::kError;
  }
  head_bytes_ += data.size();
  if (head_bytes_ > kMaxHeadBytes) {
    fail("request head too large");
    return State::kError;
  }
  return State::kNeedMore;
}

}  // namespace bordergate::outbound
