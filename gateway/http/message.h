// Parsed HTTP messages as the proxy sees them. Header names and values are
// kept exactly as received (the proxy forwards them unchanged); storage is
// reused between requests on a keep-alive connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bordergate {

struct HeaderField {
  std::string name;
  std::string value;
};

// A vector of fields whose strings keep their capacity across clear().
class HeaderList {
 public:
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  HeaderField& add() {
    if (size_ == fields_.size()) fields_.emplace_back();
    HeaderField& f = fields_[size_++];
    f.name.clear();
    f.value.clear();
    return f;
  }
  HeaderField& back() { return fields_[size_ - 1]; }
  const HeaderField* begin() const { return fields_.data(); }
  const HeaderField* end() const { return fields_.data() + size_; }
  const HeaderField& operator[](size_t i) const { return fields_[i]; }
  // First value of a header (case-insensitive name), if present.
  std::optional<std::string_view> find(std::string_view lower_name) const;

 private:
  std::vector<HeaderField> fields_;
  size_t size_ = 0;
};

struct HttpRequest {
  std::string method;
  std::string target;  // raw request-target, never decoded
  int version_minor = 1;
  HeaderList headers;
  std::string body;
  bool keep_alive = true;
  bool expect_continue = false;
  bool had_framing = false;  // Content-Length or Transfer-Encoding was present
  std::optional<std::uint64_t> content_length;

  void clear() {
    method.clear();
    target.clear();
    version_minor = 1;
    headers.clear();
    body.clear();
    keep_alive = true;
    expect_continue = false;
    had_framing = false;
    content_length.reset();
  }
};

struct HttpResponseHead {
  int status = 0;
  std::string reason;
  int version_minor = 1;
  HeaderList headers;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;  // the upstream connection may be reused
  bool has_body = true;    // false for HEAD, 1xx, 204, 304

  void clear() {
    status = 0;
    reason.clear();
    version_minor = 1;
    headers.clear();
    content_length.reset();
    chunked = false;
    keep_alive = true;
    has_body = true;
  }
};

// ASCII case-insensitive comparison against an already lower-case name.
bool iequals_lower(std::string_view text, std::string_view lower);

}  // namespace bordergate
