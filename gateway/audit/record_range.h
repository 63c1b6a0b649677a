// Which records of an audit chain a report covers: seq bounds and time bounds, all inclusive
// and all optional (`audit verify --policies`, `policy replay`). Times are compared in the
// records' own format (RFC 3339 UTC with milliseconds, see format_time), into which the bounds
// a person types are normalised first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace bordergate::audit {

struct RecordRange {
  std::optional<std::uint64_t> from_seq;
  std::optional<std::uint64_t> to_seq;
  std::string since;  // normalised (normalize_time_bound), "" = unbounded
  std::string until;

  bool bounded() const { return from_seq || to_seq || !since.empty() || !until.empty(); }
  // `time` is the record's "time" member ("" when it has none: then only the seq bounds apply).
  bool contains(std::uint64_t seq, std::string_view time) const;
  // "seq 5..42, 2026-12-01T00:00:00.000Z..2026-12-07T23:59:59.999Z" ("every record" unbounded).
  std::string describe() const;
};

// "2026-12-01", "2026-12-01T10:00Z", "2026-12-01T10:00:05Z", "2026-12-01T10:00:05.250Z" (UTC only,
// a trailing Z optional) -> "2026-12-01T10:00:05.250Z". A bound given to the day or minute means
// its first millisecond for `since` and its last for `until` (end_of_period), so
// --until 2026-12-07 includes that whole day. Error: bad_time.
Result<std::string> normalize_time_bound(std::string_view text, bool end_of_period);

}  // namespace bordergate::audit
