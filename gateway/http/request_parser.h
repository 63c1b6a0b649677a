// Incremental parser for requests arriving at the listener: llhttp in strict
// mode plus the checks llhttp leaves to us. Limits are enforced inside the
// callbacks as bytes arrive, so an oversized request is refused before it is
// buffered. Anything ambiguous about message framing is an error: the gateway
// must never see a request boundary differently from Core.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "gateway/http/body_budget.h"
#include "gateway/http/error_response.h"
#include "gateway/http/head_scanner.h"
#include "gateway/http/message.h"

namespace bordergate {

struct RequestLimits {
  RequestLimits() = default;
  RequestLimits(std::uint32_t header_bytes, std::uint32_t headers, std::uint64_t body_bytes)
      : max_header_bytes(header_bytes), max_headers(headers), max_body_bytes(body_bytes) {}

  std::uint32_t max_header_bytes = 16384;
  std::uint32_t max_headers = 100;
  std::uint64_t max_body_bytes = 13107200;
  // The process-wide budget of buffered body bytes (null: none). A body is charged as it grows;
  // a declared length that does not fit is refused at the headers: 503 M_UNAVAILABLE.
  BodyBudget* budget = nullptr;
  // Asked once the headers are complete, before any body byte is read: an error refuses the
  // request there (the federation listener refuses a Content-Length larger than the claimed
  // origin's policy allows, 413).
  std::function<std::optional<GatewayError>(const HttpRequest&)> head_check;
};

class RequestParser {
 public:
  enum class State { need_more, complete, error };
  struct Outcome {
    State state;
    size_t consumed;  // bytes of the input that belong to this request
  };

  explicit RequestParser(const RequestLimits& limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Feeds bytes. On `complete` the bytes after `consumed` belong to the next
  // request (pipelining); call reset() before feeding them.
  Outcome feed(const char* data, size_t len);
  // Starts over for the next request: the last one's body bytes go back to the budget (and a
  // large body's memory to the allocator).
  void reset();
  void set_limits(const RequestLimits& limits) { limits_ = limits; }

  bool started() const { return started_; }
  bool headers_complete() const { return headers_done_; }
  HttpRequest& request() { return request_; }
  const GatewayError& error() const { return error_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  // Scans header bytes before llhttp sees them: bare CR/LF, obs-fold, NUL and
  // the header byte limit. Returns the number of bytes that are safe to feed.
  bool scan_head(const char* data, size_t len);
  int fail(int status, const char* errcode, std::string reason);
  // Makes room for `len` more body bytes, charged to the budget. False: refused (503).
  bool grow_body(size_t len);
  void release_body();
  int check_header(const HeaderField& f);

  RequestLimits limits_;
  BudgetLease lease_;  // the body's capacity, charged to limits_.budget
  llhttp_t parser_;
  llhttp_settings_t settings_;
  HttpRequest request_;
  GatewayError error_;
  bool started_ = false;
  bool headers_done_ = false;
  bool complete_ = false;
  bool field_open_ = false;  // a header name has started and its value is not complete
  HeadScanner head_;
  // Framing headers seen.
  int content_length_count_ = 0;
  int transfer_encoding_count_ = 0;
  int host_count_ = 0;
};

}  // namespace bordergate
