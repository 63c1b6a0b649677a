// Structured JSON-lines logging on stderr: one object per line with ts, level,
// event and typed fields. Callers pass only metadata: never bodies, signatures
// or tokens (the logger cannot know what a value means, so the rule is theirs).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace bordergate {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error".
bool parse_log_level(std::string_view text, LogLevel& out);

// One key/value pair of a log line. Holds views: build it inline in the call.
class LogField {
 public:
  enum class Kind { string, integer, boolean, real };
  LogField(std::string_view key, std::string_view v) : key_(key), kind_(Kind::string), s_(v) {}
  LogField(std::string_view key, const char* v) : key_(key), kind_(Kind::string), s_(v) {}
  LogField(std::string_view key, const std::string& v) : key_(key), kind_(Kind::string), s_(v) {}
  LogField(std::string_view key, bool v) : key_(key), kind_(Kind::boolean), i_(v ? 1 : 0) {}
  LogField(std::string_view key, int v) : key_(key), kind_(Kind::integer), i_(v) {}
  LogField(std::string_view key, unsigned v) : key_(key), kind_(Kind::integer), i_(v) {}
  LogField(std::string_view key, long v) : key_(key), kind_(Kind::integer), i_(v) {}
  LogField(std::string_view key, unsigned long v)
      : key_(key), kind_(Kind::integer), i_(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view key, long long v) : key_(key), kind_(Kind::integer), i_(v) {}
  LogField(std::string_view key, unsigned long long v)
      : key_(key), kind_(Kind::integer), i_(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view key, double v) : key_(key), kind_(Kind::real), d_(v) {}

  void append_to(std::string& out) const;

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view s_;
  std::int64_t i_ = 0;
  double d_ = 0;
};

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Writes one line with a single write(2) so lines from several threads never
// interleave.
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// Appends `text` to `out` as the inside of a JSON string (no quotes added).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace bordergate
