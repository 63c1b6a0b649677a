// The JSON value type of the signing core and its strict parser/encoders.
// Parsing enforces Matrix canonical-JSON input rules (no duplicate keys, valid UTF-8, integer
// range); the canonical encoder produces exactly the bytes that get hashed and signed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/common/result.h"

namespace bordergate::matrix {

class Json;
using JsonArray = std::vector<Json>;
// std::less<> over std::string compares UTF-8 bytes, which is code-point order (what the spec
// needs).
using JsonObject = std::map<std::string, Json, std::less<>>;

// Largest magnitude allowed for integers in canonical JSON: 2^53 - 1.
inline constexpr std::int64_t kMaxJsonInteger = (std::int64_t{1} << 53) - 1;

class Json {
 public:
  using Value =
      std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, JsonArray, JsonObject>;

  Json() : v_(nullptr) {}
  Json(std::nullptr_t) : v_(nullptr) {}             // NOLINT(google-explicit-constructor)
  Json(bool b) : v_(b) {}                           // NOLINT(google-explicit-constructor)
  Json(std::int64_t i) : v_(i) {}                   // NOLINT(google-explicit-constructor)
  Json(int i) : v_(std::int64_t{i}) {}              // NOLINT(google-explicit-constructor)
  Json(double d) : v_(d) {}                         // NOLINT(google-explicit-constructor)
  Json(std::string s) : v_(std::move(s)) {}         // NOLINT(google-explicit-constructor)
  Json(const char* s) : v_(std::string(s)) {}       // NOLINT(google-explicit-constructor)
  Json(std::string_view s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Json(JsonArray a) : v_(std::move(a)) {}           // NOLINT(google-explicit-constructor)
  Json(JsonObject o) : v_(std::move(o)) {}          // NOLINT(google-explicit-constructor)

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<JsonArray>(v_); }
  bool is_object() const { return std::holds_alternative<JsonObject>(v_); }

  const std::string* string_if() const { return std::get_if<std::string>(&v_); }
  JsonArray* array_if() { return std::get_if<JsonArray>(&v_); }
  const JsonArray* array_if() const { return std::get_if<JsonArray>(&v_); }
  JsonObject* object_if() { return std::get_if<JsonObject>(&v_); }
  const JsonObject* object_if() const { return std::get_if<JsonObject>(&v_); }
  std::optional<std::int64_t> int_if() const {
    if (auto* i = std::get_if<std::int64_t>(&v_)) return *i;
    return std::nullopt;
  }
  std::optional<bool> bool_if() const {
    if (auto* b = std::get_if<bool>(&v_)) return *b;
    return std::nullopt;
  }

  // Member of an object, else nullptr (also when this is not an object).
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);

  Value& value() { return v_; }
  const Value& value() const { return v_; }

  friend bool operator==(const Json&, const Json&) = default;

 private:
  Value v_;
};

struct JsonLimits {
  std::size_t max_depth = 64;        // nesting of arrays/objects
  std::size_t max_bytes = 64 << 20;  // input size
  bool allow_floats = false;         // canonical contexts: false (fraction/exponent/-0 rejected)
};

// Strict parse. Error codes: "invalid_json", "duplicate_key", "invalid_utf8", "lone_surrogate",
// "depth_exceeded", "too_large", "integer_out_of_range", "float_not_allowed". Messages carry the
// byte offset. Rejects trailing garbage, a BOM, NaN/Infinity. Never recursive on the input.
Result<Json> parse_json(std::string_view text, const JsonLimits& limits = {});

// Canonical JSON (spec appendix): sorted keys, no whitespace, spec escaping, UTF-8.
// Fails with "float_not_allowed" when a double is present and "integer_out_of_range" for integers
// beyond ±(2^53-1).
Result<std::string> canonical_json(const Json& value);
// Precondition: value has no doubles and only in-range integers (checked by assert in debug builds;
// a double is written as compact_json would).
void append_canonical_json(std::string& out, const Json& value);
// The checks canonical_json makes, without writing anything.
Status check_canonical_json(const Json& value);
// A JSON string literal with the canonical escaping (input must be valid UTF-8).
void append_json_string(std::string& out, std::string_view text);
// Like canonical, but doubles are allowed (shortest round-trip form) — for logs and responses.
std::string compact_json(const Json& value);

// True when text is well-formed UTF-8 without surrogate code points or overlong forms.
bool is_valid_utf8(std::string_view text);

}  // namespace bordergate::matrix
