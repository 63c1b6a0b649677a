// Incremental parser for responses coming back from Core. The head is
// collected whole; body bytes are handed on as they arrive so large responses
// stream through without being buffered. Interim 1xx responses are skipped.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>

#include "gateway/http/message.h"

namespace bordergate {

class ResponseSink {
 public:
  virtual void on_response_head(HttpResponseHead& head) = 0;
  virtual void on_response_body(const char* data, size_t len) = 0;
  virtual void on_response_complete() = 0;

 protected:
  ~ResponseSink() = default;
};

class ResponseParser {
 public:
  static constexpr std::uint32_t kMaxHeadBytes = 64 * 1024;
  static constexpr std::uint32_t kMaxHeaders = 256;

  explicit ResponseParser(ResponseSink& sink);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Prepares for the response to a request with `method`.
  void start(bool head_request);
  // Returns false on a malformed response (error() says why).
  bool feed(const char* data, size_t len);
  // The upstream closed: completes a close-delimited body; false if the
  // response was cut short.
  bool finish();
  bool head_received() const { return head_done_; }
  bool complete() const { return complete_; }
  bool started() const { return started_; }
  // Whether the connection may carry another exchange after this response.
  bool keep_alive() const { return complete_ && head_.keep_alive; }
  const std::string& error() const { return error_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_status(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  ResponseSink& sink_;
  llhttp_t parser_;
  llhttp_settings_t settings_;
  HttpResponseHead head_;
  std::string error_;
  bool head_request_ = false;
  bool started_ = false;
  bool head_done_ = false;
  bool interim_ = false;
  bool complete_ = false;
  bool in_value_ = false;
  size_t head_bytes_ = 0;
};

}  // namespace bordergate
