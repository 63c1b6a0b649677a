// Small helpers every command family shares: reading an input file or stdin, the one-line error
// report with its exit status, and wall-clock formatting for human-readable output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "gateway/audit/record_range.h"
#include "gateway/common/result.h"

namespace bordergate::cli {

// Exit statuses shared by the families: 1 a check failed, 2 the input could not be used.
inline constexpr int kCheckFailed = 1;
inline constexpr int kBadInput = 2;

// The whole of `path`, or of standard input when `path` is "-". Error code: "unreadable".
Result<std::string> read_input(const std::string& path);

// Prints "bordergate: WHAT: CODE: MESSAGE" on stderr (after flushing stdout, so both streams stay
// in order on one terminal or file) and sets the process exit status. Returns `status`.
int fail(const std::string& what, const Error& e, int status);

// Writes a command's output to stdout, or to `path` when one is given; false (with the error on
// stderr and exit status 2) when the file cannot be written.
bool write_output(const std::string& text, const std::string& path);

// The records a report covers, from the command line's --from-seq, --to-seq, --since and
// --until (times as audit::normalize_time_bound reads them). Error: bad_time.
Result<audit::RecordRange> record_range(std::optional<std::uint64_t> from_seq,
                                        std::optional<std::uint64_t> to_seq,
                                        const std::string& since, const std::string& until);

// Milliseconds since the Unix epoch, and such a time as "2026-11-27T09:00:00Z".
std::int64_t now_ms();
std::string utc(std::int64_t ms);

}  // namespace bordergate::cli
