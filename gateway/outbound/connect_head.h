// The proxy listener's first request from the Core, read with llhttp (strict) up to the end of
// its head: a CONNECT (authority-form) or something to refuse. Bytes after the head belong to the
// tunnel and are handed back untouched (a Core may pipeline its ClientHello).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/http/head_scanner.h"

namespace bordergate::outbound {

struct ConnectHead {
  std::string method;                                        // "CONNECT", "GET", ...
  std::string target;                                        // request-target as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::vector<std::string_view> values(std::string_view lower_name) const;
};

class ConnectHeadParser {
 public:
  enum class State { kNeedMore, kComplete, kError };
  static constexpr std::size_t kMaxHeadBytes = 8192;
  static constexpr std::size_t kMaxHeaders = 64;

  ConnectHeadParser();
  ConnectHeadParser(const ConnectHeadParser&) = delete;
  ConnectHeadParser& operator=(const ConnectHeadParser&) = delete;

  // Feeds bytes; on kComplete `consumed` says how many of `data` belonged to the head.
  State feed(std::string_view data, std::size_t& consumed);
  const ConnectHead& head() const { return head_; }
  const std::string& error() const { return error_; }

 private:
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_headers_complete(llhttp_t* p);
  int fail(std::string reason);

  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  ConnectHead head_;
  std::string error_;
  std::size_t head_bytes_ = 0;
  HeadScanner scanner_;  // the federation listener's strictness (bare CR/LF, obs-fold, ...)
  bool in_value_ = false;
  bool done_ = false;
};

}  // namespace bordergate::outbound
