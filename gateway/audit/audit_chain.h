// The hash chain that makes the audit log tamper-evident. Every line is
// {"seq":N,"prev":"<hex SHA-256 of the previous line's bytes>",...}; the first
// line of a chain is a chain_start record whose prev is kGenesisPrev. Removing,
// reordering or editing a line breaks the link to the line after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"

namespace bordergate::audit {

// prev of the chain_start record (seq 0): 64 zeros.
inline constexpr std::string_view kGenesisPrev =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Where the chain stands: the seq of the next record and the hash of the last
// line written (kGenesisPrev before the first).
struct ChainHead {
  std::uint64_t next_seq = 0;
  std::string last_hash{kGenesisPrev};

  bool at_genesis() const { return next_seq == 0; }
  friend bool operator==(const ChainHead&, const ChainHead&) = default;
};

// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view bytes);

// Builds the next line (no newline) from record members that start with ','
// (see append_record_members) and advances `head` past it.
std::string seal_line(ChainHead& head, std::string_view members);

// The chain fields of one line, as the verifier and the tail reader see them.
struct ChainFields {
  std::uint64_t seq = 0;
  std::string prev;
  std::string type;
  std::optional<std::int64_t> torn_bytes;  // recovery records only
  std::string note;                        // the record's note, when it has one
  std::string time;
  // What the policy report of the verifier reads (empty when absent or not a string).
  std::string action;
  std::string reason;
  std::string actor;
  std::string policy_sha256;
  std::string policy_file;
  std::string policy_revision;
  std::string trigger;
};

// Parses a line strictly (one JSON object, seq a non-negative integer, prev 64
// lower-case hex digits). Error codes: not_json, not_object, bad_seq, bad_prev.
Result<ChainFields> parse_chain_fields(std::string_view line);

// The same in two steps, for readers that need the rest of the record too (`policy replay`):
// the line as JSON, with the verifier's bounds (1 MiB, depth 8), and its chain fields.
Result<matrix::Json> parse_record_line(std::string_view line);
Result<ChainFields> chain_fields(const Result<matrix::Json>& parsed);

}  // namespace bordergate::audit
