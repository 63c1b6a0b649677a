#include "gateway/audit/record_range.h"

#include <array>

namespace bordergate::audit {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

int number(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

bool RecordRange::contains(std::uint64_t seq, std::string_view time) const {
  if (from_seq && seq < *from_seq) return false;
  if (to_seq && seq > *to_seq) return false;
  if (time.empty()) return true;
  if (!since.empty() && time < since) return false;
  if (!until.empty() && time > until) return false;
  return true;
}

std::string RecordRange::describe() const {
  if (!bounded()) return "every record";
  std::string out;
  if (from_seq || to_seq) {
    out = "seq " + (from_seq ? std::to_string(*from_seq) : std::string("0")) + ".." +
          (to_seq ? std::to_string(*to_seq) : std::string("end"));
  }
  if (!since.empty() || !until.empty()) {
    if (!out.empty()) out += ", ";
    out += (since.empty() ? std::string("start") : since) + ".." +
           (until.empty() ? std::string("end") : until);
  }
  return out;
}

Result<std::string> normalize_time_bound(std::string_view text, bool end_of_period) {
  const auto bad = [&] {
    return make_error("bad_time", "`" + std::string(text) +
                                      "` is not a UTC time like 2026-12-01, 2026-12-01T10:00Z "
                                      "or 2026-12-01T10:00:05.250Z");
  };
  std::string_view s = text;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.remove_suffix(1);
  if (s.size() < 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2)) {
    return bad();
  }
  const int month = number(s, 5, 2), day = number(s, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) return bad();
  // Fields not given: the first (since) or last (until) value of the period named.
  std::array<std::string, 4> rest = end_of_period
                                        ? std::array<std::string, 4>{"23", "59", "59", "999"}
                                        : std::array<std::string, 4>{"00", "00", "00", "000"};
  std::size_t pos = 10;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't') || !digits(s, pos + 1, 2) || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2)) {
      return bad();
    }
    if (number(s, pos + 1, 2) > 23 || number(s, pos + 4, 2) > 59) return bad();
    rest[0] = std::string(s.substr(pos + 1, 2));
    rest[1] = std::string(s.substr(pos + 4, 2));
    pos += 6;
    if (pos < s.size()) {
      if (s[pos] != ':' || !digits(s, pos + 1, 2) || number(s, pos + 1, 2) > 60) return bad();
      rest[2] = std::string(s.substr(pos + 1, 2));
      pos += 3;
      if (pos < s.size()) {
        if (s[pos] != '.' || !digits(s, pos + 1, 3) || pos + 4 != s.size()) return bad();
        rest[3] = std::string(s.substr(pos + 1, 3));
        pos += 4;
      }
    }
  }
  if (pos != s.size()) return bad();
  return std::string(s.substr(0, 10)) + "T" + rest[0] + ":" + rest[1] + ":" + rest[2] + "." +
         rest[3] + "Z";
}

}  // namespace bordergate::audit
