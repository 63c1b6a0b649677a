// The durable quarantine: signed /send transactions the policy refused to
// forward (held by a quarantine verdict, denied by a deny verdict), kept byte for
// byte in SQLite until the security team releases (sends the original to its
// receiver) or drops them. A put is durable (WAL,
// synchronous=FULL) before it returns, and idempotent on (direction, origin,
// txn id), so a retried transaction is stored once and gets the same answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/http/message.h"

struct sqlite3;

namespace bordergate::quarantine {

// held (a quarantine verdict) and denied (a deny verdict) wait for a person: both can be
// released or dropped. A failed release returns the entry to the status it came from.
// evidence: the original of an event a content rule refused in an *answer* (backfill,
// get_missing_events, state, send_join ...), which was delivered in its redacted form. Kept as
// evidence only: it cannot be released into that answer later (the receiver has the redacted
// copy); a person may drop it.
enum class EntryStatus { held, releasing, released, dropped, denied, evidence };
const char* status_name(EntryStatus s);
std::optional<EntryStatus> parse_status(std::string_view text);

// The policy's verdict on a stored entry: what its first status was. redacted: an event of an
// answer, delivered redacted (status evidence).
enum class StoredVerdict { quarantine, deny, redacted };
const char* verdict_name(StoredVerdict v);
// The status an entry stored with this verdict starts in: held or denied.
EntryStatus first_status(StoredVerdict v);

// What the gateway hands over when it quarantines a request, or keeps the original of an event
// redacted in an answer (verdict redacted): then direction is the way the event travelled,
// origin the server that answered, txn_id the event id (one entry per event), destination the
// server the answer went to, method and target those of the request answered, body the original
// event (compact JSON), no headers.
struct HeldRequest {
  std::string direction = "inbound";
  std::string origin;  // the authenticated X-Matrix origin
  std::string txn_id;
  std::string destination;  // the Core's server name
  std::string remote_addr;  // the TCP peer, for the X-Forwarded-For on release
  // The request exactly as received: method, raw request-target, every header
  // field in order, the (de-framed) body.
  std::string method;
  std::string target;
  std::vector<HeaderField> headers;
  std::string body;
  std::chrono::system_clock::time_point received = std::chrono::system_clock::now();
  // Why: the decision.
  std::string rule_id;
  std::string reason;
  std::string findings;  // short human/JSON summary of what violated the policy (no bodies)
  StoredVerdict verdict = StoredVerdict::quarantine;  // first status: held or denied
  // What the origin was answered (so a retry gets the same): status + body.
  int answer_status = 200;
  std::string answer_body;
};

// A stored entry, as list/show/release see it.
struct Entry {
  std::string id;
  HeldRequest request;
  EntryStatus status = EntryStatus::held;
  std::chrono::system_clock::time_point status_changed{};
  std::string outcome;             // what release/drop did ("core answered 200", "by alice")
  std::optional<int> core_status;  // the Core's status after a release attempt
  std::uint64_t size_bytes = 0;    // head + body bytes held
};

struct PutResult {
  std::string id;
  bool existed = false;     // a retry: nothing was stored, the earlier answer applies
  bool same_body = true;    // for a retry: whether the body matches the stored one
  int answer_status = 200;  // the answer to give (the stored one for a retry)
  std::string answer_body;
  StoredVerdict verdict = StoredVerdict::quarantine;  // the stored one for a retry
};

struct ListFilter {
  std::optional<EntryStatus> status;
  std::string origin;  // exact; empty = any
  std::optional<std::chrono::system_clock::time_point> since;
  std::size_t limit = 1000;
};

struct StoreStats {
  std::uint64_t held_count = 0;    // held or being released
  std::uint64_t denied_count = 0;  // denied, waiting for a person
  std::uint64_t held_bytes = 0;    // bytes of held, releasing and denied entries (max_bytes)
  std::uint64_t evidence_count = 0;  // originals of events redacted in answers
  std::uint64_t evidence_bytes = 0;  // their bytes (a max_bytes budget of their own)
  std::uint64_t total_count = 0;
};

class QuarantineStore {
 public:
  // max_bytes bounds the bytes of entries waiting for a person: held, releasing, denied
  // (0 = unbounded); and, separately, the bytes of evidence entries, so that originals of
  // redacted answer events never crowd out the transactions a person must decide on.
  static Result<std::unique_ptr<QuarantineStore>> open(const std::string& path,
                                                       std::uint64_t max_bytes = 0);
  ~QuarantineStore();
  QuarantineStore(const QuarantineStore&) = delete;
  QuarantineStore& operator=(const QuarantineStore&) = delete;

  // Durable when it returns (one WAL commit with fsync, a few ms on a disk):
  // call it off the event loop (uv_queue_work). Thread-safe. Errors:
  // quarantine_full (max_bytes), quarantine_io.
  Result<PutResult> put(const HeldRequest& request);
  Result<std::optional<Entry>> get(const std::string& id);
  // The transaction stored for (direction, origin, txn id); evidence entries are not
  // transactions and are never found here.
  Result<std::optional<Entry>> lookup(const std::string& direction, const std::string& origin,
                                      const std::string& txn_id);
  // Whether lookup() can find an entry for this transaction, answered from memory without the
  // SQLite connection (so an event loop may ask it for every /send and skip the off-loop lookup
  // of the common, never-held transaction). Exact for the entries present at open() and every
  // put() of this instance; a false positive only costs a lookup. Thread-safe.
  bool may_contain(std::string_view direction, std::string_view origin,
                   std::string_view txn_id) const;
  // Newest first; bodies are not loaded (Entry::request.body stays empty).
  Result<std::vector<Entry>> list(const ListFilter& filter);

  // held or denied -> releasing: claims the entry for one releaser. Errors: not_found,
  // already_released, already_dropped, release_in_progress (another release
  // holds it; `force` takes it over after a crashed CLI), evidence_not_releasable.
  Result<Entry> begin_release(const std::string& id, bool force = false);
  // releasing -> released (the receiver answered 2xx) or back to held or denied, as the
  // verdict was (failure; the outcome and status are kept for the next attempt).
  Status finish_release(const std::string& id, bool delivered, std::optional<int> core_status,
                        const std::string& outcome);
  // held, denied or evidence -> dropped. Errors: not_found, already_released, already_dropped,
  // release_in_progress.
  Status drop(const std::string& id, const std::string& outcome);

  Result<StoreStats> stats();

 private:
  explicit QuarantineStore(sqlite3* db, std::uint64_t max_bytes);
  Status exec(const char* sql);

  void remember(std::string_view direction, std::string_view origin, std::string_view txn_id);

  sqlite3* db_;
  std::uint64_t max_bytes_;
  std::mutex mu_;  // one connection, serialized (puts are fsync-bound anyway)
  // (direction, origin, txn_id) of every entry, joined with NULs; never held during SQLite work.
  mutable std::mutex keys_mu_;
  std::unordered_set<std::string> keys_;
};

// Copies a parsed request's head and body into a HeldRequest.
void copy_request(const HttpRequest& request, HeldRequest& out);

// Header fields to and from the stored blob: per field u32 name length, name,
// u32 value length, value (big-endian lengths). Exact bytes, in order.
std::string encode_headers(const std::vector<HeaderField>& headers);
Result<std::vector<HeaderField>> decode_headers(std::string_view blob);

}  // namespace bordergate::quarantine
