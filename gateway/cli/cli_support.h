// Small helpers every command family shares: reading an input file or stdin, the one-line error
// report with its exit status, and wall-clock formatting for human-readable output.
#pragma once

#include <cstdint>
#include <string>

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

// Milliseconds since the Unix epoch, and such a time as "2026-11-27T09:00:00Z".
std::int64_t now_ms();
std::string utc(std::int64_t ms);

}  // namespace bordergate::cli
