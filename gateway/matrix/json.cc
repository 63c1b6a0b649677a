// Strict JSON parsing on RapidJSON's iterative SAX reader (no recursion on the input), building
// our own Json values; the Matrix-specific rules (duplicates, integer range, surrogates, floats,
// depth) are enforced in the handler. Measured against nlohmann in docs/benchmarks.md.
#include "gateway/matrix/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace bordergate::matrix {
namespace {

// Printable, bounded excerpt of a key for error messages (keys are attacker-controlled).
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 48)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (s.size() > 48) out += "...";
  return out;
}

// Escaped lone surrogates survive RapidJSON 1.1 as CESU-style bytes ED A0..BF xx; raw ones are
// already rejected by kParseValidateEncodingFlag. One memchr for the common case.
bool has_surrogate_bytes(const char* s, std::size_t n) {
  const char* p = s;
  const char* end = s + n;
  while (
      (p = static_cast<const char*>(std::memchr(p, '\xED', static_cast<std::size_t>(end - p))))) {
    if (p + 1 < end && (static_cast<unsigned char>(p[1]) & 0xE0) == 0xA0) return true;
    ++p;
  }
  return false;
}

class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
 public:
  Builder(const JsonLimits& limits, const rapidjson::MemoryStream& stream)
      : limits_(limits), stream_(stream) {}

  bool Null() { return add(Json(nullptr)); }
  bool Bool(bool b) { return add(Json(b)); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return number(std::string_view(s, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (has_surrogate_bytes(s, n))
      return fail("lone_surrogate", "string contains a lone surrogate escape");
    return add(Json(std::string(s, n)));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (has_surrogate_bytes(s, n))
      return fail("lone_surrogate", "key contains a lone surrogate escape");
    auto& object = *stack_.back().object_if();
    std::string_view key(s, n);
    // Canonical JSON (what Matrix servers sign and usually send) has its keys in ascending byte
    // order: a key above the object's last one cannot be a duplicate and goes in at the end
    // without a tree search. Any other key takes the full lookup.
    const bool at_end = object.empty() || std::string_view(object.rbegin()->first) < key;
    if (!at_end && object.find(key) != object.end()) {
      return fail("duplicate_key", "duplicate key \"" + excerpt(key) + "\"");
    }
    keys_.push_back({std::string(key), at_end});
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  Json take_root() { return std::move(root_); }
  const std::optional<Error>& error() const { return error_; }

 private:
  bool fail(const char* code, std::string what) {
    error_ = make_error(code, what + " at byte " + std::to_string(stream_.Tell()));
    return false;
  }

  bool open(bool object) {
    if (stack_.size() >= limits_.max_depth) {
      return fail("depth_exceeded", "nesting deeper than " + std::to_string(limits_.max_depth));
    }
    if (object) {
      stack_.emplace_back(JsonObject{});
    } else {
      stack_.emplace_back(JsonArray{});
    }
    return true;
  }

  bool close() {
    Json done = std::move(stack_.back());
    stack_.pop_back();
    return add(std::move(done));
  }

  bool add(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
    } else if (auto* array = stack_.back().array_if()) {
      array->push_back(std::move(value));
    } else {
      // Nothing enters this object between its key and the key's value (a nested container is a
      // separate value on the stack), so a key that was above the last one still is.
      JsonObject& object = *stack_.back().object_if();
      PendingKey& pending = keys_.back();
      if (pending.at_end) {
        object.emplace_hint(object.end(), std::move(pending.key), std::move(value));
      } else {
        object.emplace(std::move(pending.key), std::move(value));
      }
      keys_.pop_back();
    }
    return true;
  }

  // RapidJSON has already checked the number grammar (no leading zeros, digits after '.').
  bool number(std::string_view text) {
    bool negative = text.front() == '-';
    bool integral = text.find_first_of(".eE") == std::string_view::npos;
    if (integral) {
      std::string_view digits = text.substr(negative ? 1 : 0);
      std::uint64_t magnitude = 0;
      bool in_range = digits.size() <= 16;
      if (in_range) {
        std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
        in_range = magnitude <= static_cast<std::uint64_t>(kMaxJsonInteger);
      }
      if (negative && in_range && magnitude == 0) {
        if (!limits_.allow_floats) return fail("float_not_allowed", "negative zero");
        return add(Json(-0.0));
      }
      if (in_range) {
        auto v = static_cast<std::int64_t>(magnitude);
        return add(Json(negative ? -v : v));
      }
      if (!limits_.allow_floats) {
        return fail("integer_out_of_range", "integer " + excerpt(text) + " outside ±(2^53-1)");
      }
    } else if (!limits_.allow_floats) {
      return fail("float_not_allowed", "non-integer number " + excerpt(text));
    }
    double d = std::strtod(std::string(text).c_str(), nullptr);
    if (!std::isfinite(d))
      return fail("number_out_of_range", "number " + excerpt(text) + " overflows");
    return add(Json(d));
  }

  const JsonLimits& limits_;
  const rapidjson::MemoryStream& stream_;
  std::vector<Json> stack_;  // open containers, innermost last
  struct PendingKey {
    std::string key;
    bool at_end;  // above every key of its object so far: appended without a search
  };
  std::vector<PendingKey> keys_;  // pending key of each open object
  Json root_;
  std::optional<Error> error_;
};

const char* code_for(rapidjson::ParseErrorCode code) {
  switch (code) {
    case rapidjson::kParseErrorStringInvalidEncoding:
      return "invalid_utf8";
    case rapidjson::kParseErrorStringUnicodeSurrogateInvalid:
      return "lone_surrogate";
    case rapidjson::kParseErrorNumberTooBig:
      return "number_out_of_range";
    default:
      return "invalid_json";
  }
}

// --- encoding ---------------------------------------------------------------------------------

constexpr char kHex[] = "0123456789abcdef";

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

void append_value(std::string& out, const Json& value) {
  struct Visitor {
    std::string& out;
    void operator()(std::nullptr_t) const { out += "null"; }
    void operator()(bool b) const { out += b ? "true" : "false"; }
    void operator()(std::int64_t i) const {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, i);
      out.append(buf, r.ptr);
    }
    void operator()(double d) const { append_double(out, d); }
    void operator()(const std::string& s) const { append_string(out, s); }
    void operator()(const JsonArray& a) const {
      out.push_back('[');
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out.push_back(',');
        append_value(out, a[i]);
      }
      out.push_back(']');
    }
    void operator()(const JsonObject& o) const {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : o) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, k);
        out.push_back(':');
        append_value(out, v);
      }
      out.push_back('}');
    }
  };
  std::visit(Visitor{out}, value.value());
}

// Everything canonical JSON cannot represent, found before any byte is written.
std::optional<Error> canonical_problem(const Json& value) {
  if (value.is_double()) return make_error("float_not_allowed", "canonical JSON has no floats");
  if (auto i = value.int_if()) {
    if (*i > kMaxJsonInteger || *i < -kMaxJsonInteger) {
      return make_error("integer_out_of_range",
                        "integer " + std::to_string(*i) + " outside ±(2^53-1)");
    }
  } else if (auto* s = value.string_if()) {
    if (!is_valid_utf8(*s)) return make_error("invalid_utf8", "string is not valid UTF-8");
  } else if (auto* a = value.array_if()) {
    for (const auto& v : *a) {
      if (auto e = canonical_problem(v)) return e;
    }
  } else if (auto* o = value.object_if()) {
    for (const auto& [k, v] : *o) {
      if (!is_valid_utf8(k)) return make_error("invalid_utf8", "key is not valid UTF-8");
      if (auto e = canonical_problem(v)) return e;
    }
  }
  return std::nullopt;
}

}  // namespace

const Json* Json::find(std::string_view key) const {
  const auto* o = object_if();
  if (!o) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->second;
}

Json* Json::find(std::string_view key) {
  auto* o = object_if();
  if (!o) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->second;
}

Result<Json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error("too_large", "JSON text of " + std::to_string(text.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(limits.max_bytes));
  }
  // RapidJSON's streams report NUL as the end of input; a raw NUL is never valid JSON, so refuse
  // it up front rather than silently ignoring what follows.
  if (const void* nul = std::memchr(text.data(), 0, text.size())) {
    auto at = static_cast<const char*>(nul) - text.data();
    return make_error("invalid_json", "NUL byte at byte " + std::to_string(at));
  }
  rapidjson::MemoryStream stream(text.data(), text.size());
  Builder builder(limits, stream);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, builder);
  if (!ok) {
    if (builder.error()) return *builder.error();
    std::string what = rapidjson::GetParseError_En(ok.Code());
    if (!what.empty() && what.back() == '.') what.pop_back();
    return make_error(code_for(ok.Code()), what + " at byte " + std::to_string(ok.Offset()));
  }
  return builder.take_root();
}

Result<std::string> canonical_json(const Json& value) {
  if (auto e = canonical_problem(value)) return *e;
  std::string out;
  append_value(out, value);
  return out;
}

void append_canonical_json(std::string& out, const Json& value) { append_value(out, value); }

Status check_canonical_json(const Json& value) {
  if (auto e = canonical_problem(value)) return *e;
  return {};
}

void append_json_string(std::string& out, std::string_view text) { append_string(out, text); }

std::string compact_json(const Json& value) {
  std::string out;
  append_value(out, value);
  return out;
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ull) break;
      p += 8;
    }
    if (p == end) break;
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong 2-byte lead, or beyond U+10FFFF
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

}  // namespace bordergate::matrix
