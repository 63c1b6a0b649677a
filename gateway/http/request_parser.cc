#include "gateway/http/request_parser.h"

#include <algorithm>
#include <cstring>

namespace bordergate {
namespace {

RequestParser* self_of(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

bool allowed_method(llhttp_method_t m) {
  switch (m) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_POST:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_PATCH:
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RequestParser::RequestParser(const RequestLimits& limits) : limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &RequestParser::on_message_begin;
  settings_.on_url = &RequestParser::on_url;
  settings_.on_header_field = &RequestParser::on_header_field;
  settings_.on_header_value = &RequestParser::on_header_value;
  settings_.on_header_value_complete = &RequestParser::on_header_value_complete;
  settings_.on_headers_complete = &RequestParser::on_headers_complete;
  settings_.on_body = &RequestParser::on_body;
  settings_.on_message_complete = &RequestParser::on_message_complete;
  reset();
}

RequestParser::~RequestParser() { release_body(); }

void RequestParser::release_body() {
  lease_.release();
  // A large body's buffer is freed, not kept for the next request.
  if (request_.body.capacity() > BodyBudget::kSmallBody) std::string().swap(request_.body);
}

bool RequestParser::grow_body(size_t len) {
  // Double up to what the request declared (or the limit), never past it: the buffer holds at
  // most twice what arrived, and exactly a declared length once it is all there.
  const std::uint64_t ceiling =
      request_.content_length ? *request_.content_length : limits_.max_body_bytes;
  if (lease_.budget() != limits_.budget) {
    if (lease_.held() > 0) return false;  // charged to another budget: never mixed
    lease_ = BudgetLease(limits_.budget, BufferKind::request_body);
  }
  return lease_.make_room(request_.body, len, ceiling);
}

void RequestParser::reset() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
  release_body();
  request_.clear();
  error_ = GatewayError{};
  started_ = headers_done_ = complete_ = field_open_ = false;
  head_.reset();
  content_length_count_ = transfer_encoding_count_ = host_count_ = 0;
}

int RequestParser::fail(int status, const char* errcode, std::string reason) {
  if (error_.status == 500 || error_.reason.empty()) {
    error_.status = status;
    error_.errcode = errcode;
    error_.reason = std::move(reason);
  }
  return HPE_USER;
}

bool RequestParser::scan_head(const char* data, size_t len) {
  using V = HeadScanner::Verdict;
  const V v = head_.scan(data, len, limits_.max_header_bytes);
  if (v == V::ok) return true;
  if (v == V::too_large) {
    fail(431, "M_TOO_LARGE", "Request header fields too large");
  } else {
    fail(400, "M_UNKNOWN", std::string("Malformed HTTP: ") + HeadScanner::describe(v));
  }
  return false;
}

RequestParser::Outcome RequestParser::feed(const char* data, size_t len) {
  if (complete_) return {State::complete, 0};
  if (error_.reason.size() > 0) return {State::error, 0};
  if (len > 0) started_ = true;
  if (!head_.done() && !scan_head(data, len)) return {State::error, 0};
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    if (complete_) return {State::complete, len};
    return {State::need_more, len};
  }
  if (err == HPE_PAUSED && complete_) {
    size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
    return {State::complete, consumed};
  }
  if (err == HPE_PAUSED_UPGRADE && complete_) {
    // The gateway speaks no upgraded protocols; the Upgrade header is not
    // forwarded and the connection closes after this exchange.
    request_.keep_alive = false;
    size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
    return {State::complete, consumed};
  }
  if (error_.reason.empty()) {
    const char* reason = llhttp_get_error_reason(&parser_);
    fail(400, "M_UNKNOWN",
         std::string("Malformed HTTP: ") + (reason ? reason : llhttp_errno_name(err)));
  }
  return {State::error, 0};
}

int RequestParser::on_message_begin(llhttp_t* p) {
  self_of(p)->started_ = true;
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  self_of(p)->request_.target.append(at, len);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = self_of(p);
  if (self->headers_done_) return 0;  // trailer fields are dropped, never forwarded
  if (!self->field_open_) {
    if (self->request_.headers.size() >= self->limits_.max_headers) {
      return self->fail(431, "M_TOO_LARGE", "Too many request header fields");
    }
    self->request_.headers.add();
    self->field_open_ = true;
  }
  self->request_.headers.back().name.append(at, len);
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = self_of(p);
  if (self->headers_done_) return 0;
  if (!self->field_open_) return self->fail(400, "M_UNKNOWN", "Malformed HTTP: empty header name");
  self->request_.headers.back().value.append(at, len);
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser* self = self_of(p);
  if (self->headers_done_) return 0;
  if (!self->field_open_) return self->fail(400, "M_UNKNOWN", "Malformed HTTP: empty header name");
  self->field_open_ = false;  // the next field callback starts a new header
  return self->check_header(self->request_.headers.back());
}

int RequestParser::check_header(const HeaderField& f) {
  if (f.name.empty()) return fail(400, "M_UNKNOWN", "Malformed HTTP: empty header name");
  if (iequals_lower(f.name, "content-length")) {
    if (++content_length_count_ > 1)
      return fail(400, "M_UNKNOWN", "Malformed HTTP: duplicate Content-Length");
    std::string_view v = trim(f.value);
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(400, "M_UNKNOWN", "Malformed HTTP: invalid Content-Length");
    }
  } else if (iequals_lower(f.name, "transfer-encoding")) {
    if (++transfer_encoding_count_ > 1) {
      return fail(400, "M_UNKNOWN", "Malformed HTTP: repeated Transfer-Encoding");
    }
    // Only a lone "chunked" is unambiguous; gzip,chunked and friends are
    // interpreted differently by different servers.
    if (!iequals_lower(trim(f.value), "chunked")) {
      return fail(400, "M_UNKNOWN", "Malformed HTTP: unsupported Transfer-Encoding");
    }
  } else if (iequals_lower(f.name, "host")) {
    if (++host_count_ > 1) return fail(400, "M_UNKNOWN", "Malformed HTTP: duplicate Host");
  }
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser* self = self_of(p);
  HttpRequest& r = self->request_;
  self->headers_done_ = true;
  if (p->http_major != 1 || p->http_minor > 1) {
    return self->fail(400, "M_UNKNOWN", "Malformed HTTP: only HTTP/1.0 and HTTP/1.1 are supported");
  }
  r.version_minor = p->http_minor;
  auto method = static_cast<llhttp_method_t>(p->method);
  r.method = llhttp_method_name(method);
  if (!allowed_method(method)) {
    return self->fail(405, "M_UNRECOGNIZED", "Unrecognized request method");
  }
  // Only origin-form targets: absolute-form and '*' are for proxies and
  // OPTIONS-to-server, neither of which the gateway is.
  if (r.target.empty() || r.target.front() != '/') {
    return self->fail(400, "M_UNKNOWN", "Malformed HTTP: request target must start with '/'");
  }
  if (self->content_length_count_ > 0 && self->transfer_encoding_count_ > 0) {
    return self->fail(400, "M_UNKNOWN",
                      "Malformed HTTP: both Content-Length and Transfer-Encoding");
  }
  if (self->transfer_encoding_count_ > 0 && r.version_minor == 0) {
    return self->fail(400, "M_UNKNOWN", "Malformed HTTP: Transfer-Encoding in HTTP/1.0");
  }
  if (r.version_minor == 1 && self->host_count_ == 0) {
    return self->fail(400, "M_UNKNOWN", "Malformed HTTP: missing Host header");
  }
  r.had_framing = self->content_length_count_ > 0 || self->transfer_encoding_count_ > 0;
  if (self->content_length_count_ > 0) {
    r.content_length = p->content_length;
    if (p->content_length > self->limits_.max_body_bytes) {
      return self->fail(413, "M_TOO_LARGE", "Request body too large");
    }
    // Nothing is reserved from the declared length: the body grows as its bytes arrive.
    if (self->limits_.budget != nullptr && !self->limits_.budget->admit(p->content_length)) {
      return self->fail(503, "M_UNAVAILABLE",
                        "The gateway holds too many large requests now; retry later");
    }
  }
  if (self->limits_.head_check) {
    if (std::optional<GatewayError> refused = self->limits_.head_check(r)) {
      return self->fail(refused->status, refused->errcode, std::move(refused->reason));
    }
  }
  r.keep_alive = llhttp_should_keep_alive(p) != 0;
  if (auto expect = r.headers.find("expect")) {
    if (!iequals_lower(trim(*expect), "100-continue")) {
      return self->fail(417, "M_UNKNOWN", "Unsupported Expect header");
    }
    r.expect_continue = r.version_minor == 1;
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = self_of(p);
  if (self->request_.body.size() + len > self->limits_.max_body_bytes) {
    return self->fail(413, "M_TOO_LARGE", "Request body too large");
  }
  if (!self->grow_body(len)) {
    return self->fail(503, "M_UNAVAILABLE",
                      "The gateway holds too many large requests now; retry later");
  }
  self->request_.body.append(at, len);
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser* self = self_of(p);
  self->complete_ = true;
  // Pause so that bytes of a pipelined next request stay unconsumed.
  return HPE_PAUSED;
}

}  // namespace bordergate
