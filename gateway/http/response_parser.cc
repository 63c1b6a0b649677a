#include "gateway/http/response_parser.h"

namespace bordergate {
namespace {
ResponseParser* self_of(llhttp_t* p) { return static_cast<ResponseParser*>(p->data); }
}  // namespace

ResponseParser::ResponseParser(ResponseSink& sink) : sink_(sink) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &ResponseParser::on_message_begin;
  settings_.on_status = &ResponseParser::on_status;
  settings_.on_header_field = &ResponseParser::on_header_field;
  settings_.on_header_value = &ResponseParser::on_header_value;
  settings_.on_header_value_complete = &ResponseParser::on_header_value_complete;
  settings_.on_headers_complete = &ResponseParser::on_headers_complete;
  settings_.on_body = &ResponseParser::on_body;
  settings_.on_message_complete = &ResponseParser::on_message_complete;
  start(false);
}

void ResponseParser::start(bool head_request) {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
  head_.clear();
  error_.clear();
  head_request_ = head_request;
  started_ = head_done_ = interim_ = complete_ = in_value_ = false;
  head_bytes_ = 0;
}

bool ResponseParser::feed(const char* data, size_t len) {
  if (complete_) {
    // Bytes after a complete response on a connection we would reuse mean
    // the upstream is out of step with us; never reuse it.
    if (len > 0) {
      error_ = "unexpected data after the response";
      return false;
    }
    return true;
  }
  if (len > 0) started_ = true;
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK || (err == HPE_PAUSED && complete_)) {
    if (complete_ && err == HPE_PAUSED) {
      size_t used = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      if (used < len) head_.keep_alive = false;
    }
    return true;
  }
  if (error_.empty()) {
    const char* reason = llhttp_get_error_reason(&parser_);
    error_ = std::string("malformed response: ") + (reason ? reason : llhttp_errno_name(err));
  }
  return false;
}

bool ResponseParser::finish() {
  if (complete_) return true;
  if (!started_) return false;
  llhttp_errno_t err = llhttp_finish(&parser_);
  // on_message_complete pauses the parser, which llhttp_finish reports.
  if (err != HPE_OK && !(err == HPE_PAUSED && complete_)) {
    error_ = "response cut short";
    return false;
  }
  return complete_;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
  ResponseParser* self = self_of(p);
  self->head_.clear();
  self->head_bytes_ = 0;
  self->in_value_ = false;
  return 0;
}

int ResponseParser::on_status(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* self = self_of(p);
  if ((self->head_bytes_ += len) > kMaxHeadBytes) {
    self->error_ = "response head too large";
    return HPE_USER;
  }
  self->head_.reason.append(at, len);
  return 0;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* self = self_of(p);
  if (self->head_done_) return 0;  // trailers are not forwarded
  if ((self->head_bytes_ += len) > kMaxHeadBytes) {
    self->error_ = "response head too large";
    return HPE_USER;
  }
  if (self->in_value_ || self->head_.headers.size() == 0) {
    if (self->head_.headers.size() >= kMaxHeaders) {
      self->error_ = "too many response headers";
      return HPE_USER;
    }
    self->head_.headers.add();
    self->in_value_ = false;
  }
  self->head_.headers.back().name.append(at, len);
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* self = self_of(p);
  if (self->head_done_) return 0;
  if ((self->head_bytes_ += len) > kMaxHeadBytes) {
    self->error_ = "response head too large";
    return HPE_USER;
  }
  self->in_value_ = true;
  self->head_.headers.back().value.append(at, len);
  return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
  self_of(p)->in_value_ = true;
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  ResponseParser* self = self_of(p);
  HttpResponseHead& h = self->head_;
  h.status = p->status_code;
  h.version_minor = p->http_minor;
  if (h.status < 100 || h.status > 599 || p->http_major != 1) {
    self->error_ = "invalid status line";
    return HPE_USER;
  }
  if (h.status >= 100 && h.status < 200) {
    if (h.status == 101) {
      self->error_ = "upstream switched protocols";
      return HPE_USER;
    }
    self->interim_ = true;
    return 1;  // interim responses never carry a body
  }
  self->interim_ = false;
  self->head_done_ = true;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  if ((p->flags & F_CONTENT_LENGTH) != 0 && !h.chunked) h.content_length = p->content_length;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  h.has_body = !(self->head_request_ || h.status == 204 || h.status == 304);
  self->sink_.on_response_head(h);
  // Tells llhttp there is no body even if Content-Length says otherwise.
  return h.has_body ? 0 : 1;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* self = self_of(p);
  self->sink_.on_response_body(at, len);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  ResponseParser* self = self_of(p);
  if (self->interim_) {
    self->interim_ = false;
    return 0;  // go on with the final response
  }
  self->complete_ = true;
  self->sink_.on_response_complete();
  return HPE_PAUSED;
}

}  // namespace bordergate
