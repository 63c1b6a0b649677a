#include "gateway/quarantine/quarantine_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace bordergate::quarantine {
namespace {

using Clock = std::chrono::system_clock;

constexpr int kSchemaVersion = 3;

// Version 2 added the verdict column and the `denied` status, version 3 the `evidence` status
// and the `redacted` verdict (originals of events redacted in answers). Older files are rebuilt
// in place on open (every entry of version 1 was held by a quarantine verdict).
constexpr const char* kEntriesColumns = R"sql((
  id                TEXT PRIMARY KEY,
  direction         TEXT NOT NULL,
  origin            BLOB NOT NULL,
  txn_id            BLOB NOT NULL,
  destination       BLOB NOT NULL,
  remote_addr       BLOB NOT NULL,
  method            BLOB NOT NULL,
  target            BLOB NOT NULL,
  headers           BLOB NOT NULL,
  body              BLOB NOT NULL,
  received_ms       INTEGER NOT NULL,
  rule_id           BLOB NOT NULL,
  reason            BLOB NOT NULL,
  findings          BLOB NOT NULL,
  answer_status     INTEGER NOT NULL,
  answer_body       BLOB NOT NULL,
  status            TEXT NOT NULL
                    CHECK (status IN ('held', 'releasing', 'released', 'dropped', 'denied',
                                      'evidence')),
  status_changed_ms INTEGER NOT NULL,
  outcome           BLOB NOT NULL DEFAULT '',
  core_status       INTEGER,
  size_bytes        INTEGER NOT NULL,
  verdict           TEXT NOT NULL DEFAULT 'quarantine'
                    CHECK (verdict IN ('quarantine', 'deny', 'redacted'))
);
)sql";

// One transaction per (direction, origin, txn id), one evidence entry per (direction, origin,
// event id): the two never collide, whatever a transaction id looks like.
constexpr const char* kIndexes = R"sql(
CREATE UNIQUE INDEX entries_key ON entries (direction, origin, txn_id, verdict = 'redacted');
CREATE INDEX entries_received ON entries (received_ms);
CREATE INDEX entries_status ON entries (status, received_ms);
)sql";

std::string schema() { return std::string("CREATE TABLE entries") + kEntriesColumns + kIndexes; }

// Version 1 or 2 -> 3: SQLite cannot change a CHECK constraint, so the table is rebuilt. A
// version 1 table has no verdict column: its entries were all held by a quarantine verdict.
std::string migration_from(std::int64_t version) {
  const char* verdict = version == 1 ? "'quarantine'" : "verdict";
  return std::string("CREATE TABLE entries_new") + kEntriesColumns + R"sql(
INSERT INTO entries_new (id, direction, origin, txn_id, destination, remote_addr, method, target,
  headers, body, received_ms, rule_id, reason, findings, answer_status, answer_body, status,
  status_changed_ms, outcome, core_status, size_bytes, verdict)
SELECT id, direction, origin, txn_id, destination, remote_addr, method, target, headers, body,
  received_ms, rule_id, reason, findings, answer_status, answer_body, status, status_changed_ms,
  outcome, core_status, size_bytes, )sql" +
         verdict + R"sql( FROM entries;
DROP TABLE entries;
ALTER TABLE entries_new RENAME TO entries;
)sql" + kIndexes;
}

constexpr const char* kColumns =
    "id, direction, origin, txn_id, destination, remote_addr, method, target, headers, body, "
    "received_ms, rule_id, reason, findings, answer_status, answer_body, status, "
    "status_changed_ms, outcome, core_status, size_bytes, verdict";
// Same, with the body replaced by an empty blob (list never loads bodies).
constexpr const char* kColumnsNoBody =
    "id, direction, origin, txn_id, destination, remote_addr, method, target, headers, x'', "
    "received_ms, rule_id, reason, findings, answer_status, answer_body, status, "
    "status_changed_ms, outcome, core_status, size_bytes, verdict";

std::int64_t to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(std::int64_t ms) {
  return Clock::time_point(std::chrono::milliseconds(ms));
}

Error db_error(sqlite3* db, const std::string& what) {
  return make_error("quarantine_io", what + ": " + sqlite3_errmsg(db));
}

// One prepared statement, finalized on every path.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return s_ != nullptr; }
  void bind(int i, std::string_view v) {
    sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
  }
  void bind_text(int i, std::string_view v) {
    sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    const int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  Error error(const std::string& what) const { return db_error(db_, what); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// Rolls back unless committed (every early return inside a transaction).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  bool ok() const { return ok_; }
  bool commit() {
    done_ = true;
    return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

// The verdict column (CHECK: quarantine, deny or redacted).
StoredVerdict stored_verdict(std::string_view column) {
  for (StoredVerdict v : {StoredVerdict::deny, StoredVerdict::redacted}) {
    if (column == verdict_name(v)) return v;
  }
  return StoredVerdict::quarantine;
}

Entry read_entry(const Stmt& s) {
  Entry e;
  e.id = s.text(0);
  HeldRequest& r = e.request;
  r.direction = s.text(1);
  r.origin = s.text(2);
  r.txn_id = s.text(3);
  r.destination = s.text(4);
  r.remote_addr = s.text(5);
  r.method = s.text(6);
  r.target = s.text(7);
  if (Result<std::vector<HeaderField>> h = decode_headers(s.text(8))) r.headers = std::move(*h);
  r.body = s.text(9);
  r.received = from_ms(s.integer(10));
  r.rule_id = s.text(11);
  r.reason = s.text(12);
  r.findings = s.text(13);
  r.answer_status = static_cast<int>(s.integer(14));
  r.answer_body = s.text(15);
  e.status = parse_status(s.text(16)).value_or(EntryStatus::held);
  e.status_changed = from_ms(s.integer(17));
  e.outcome = s.text(18);
  if (!s.is_null(19)) e.core_status = static_cast<int>(s.integer(19));
  e.size_bytes = static_cast<std::uint64_t>(s.integer(20));
  r.verdict = stored_verdict(s.text(21));
  return e;
}

std::string new_id() {
  unsigned char bytes[8];
  sqlite3_randomness(sizeof bytes, bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "q-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

}  // namespace

QuarantineStore::QuarantineStore(sqlite3* db, std::uint64_t max_bytes)
    : db_(db), max_bytes_(max_bytes) {}

QuarantineStore::~QuarantineStore() { sqlite3_close_v2(db_); }

Status QuarantineStore::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return db_error(db_, std::string("cannot run ") + std::string(sql).substr(0, 40));
  }
  return {};
}

Result<std::unique_ptr<QuarantineStore>> QuarantineStore::open(const std::string& path,
                                                               std::uint64_t max_bytes) {
  // Bodies of refused transactions are sensitive: create the file owner-only
  // before SQLite would create it with the umask's permissions.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("quarantine_io", "cannot open quarantine store " + path);
  ::close(fd);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = db ? db_error(db, "cannot open quarantine store " + path)
                 : make_error("quarantine_io", "cannot open quarantine store " + path);
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<QuarantineStore> store(new QuarantineStore(db, max_bytes));
  sqlite3_busy_timeout(db, 10000);  // the CLI and the gateway share the file
  if (Status s = store->exec("PRAGMA journal_mode=WAL"); !s) return s.error();
  if (Status s = store->exec("PRAGMA synchronous=FULL"); !s) return s.error();
  // Every statement is finished before the schema changes (a pending one would lock the table).
  auto schema_version = [db]() -> Result<std::int64_t> {
    Stmt version(db, "PRAGMA user_version");
    if (!version.ok() || version.step() != SQLITE_ROW) return version.error("cannot read schema");
    return version.integer(0);
  };
  Result<std::int64_t> v = schema_version();
  if (!v) return v.error();
  if (*v > kSchemaVersion) {
    return make_error("quarantine_schema", path + " has schema version " + std::to_string(*v) +
                                               ", newer than this bordergate understands (" +
                                               std::to_string(kSchemaVersion) + ")");
  }
  if (*v < kSchemaVersion) {
    Transaction tx(db);
    if (!tx.ok()) return db_error(db, "cannot create or migrate the schema");
    // Another process may have created or migrated it between our read and the lock.
    Result<std::int64_t> again = schema_version();
    if (!again) return again.error();
    if (*again == 0) {
      if (Status s = store->exec(schema().c_str()); !s) return s.error();
    } else if (*again < kSchemaVersion) {
      if (Status s = store->exec(migration_from(*again).c_str()); !s) return s.error();
    }
    if (*again < kSchemaVersion) {
      const std::string set = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
      if (Status s = store->exec(set.c_str()); !s) return s.error();
    }
    if (!tx.commit()) return db_error(db, "cannot create or migrate the schema");
  }
  Stmt keys(db, "SELECT direction, origin, txn_id FROM entries");
  if (!keys.ok()) return keys.error("cannot prepare the transaction index");
  while ((rc = keys.step()) == SQLITE_ROW) {
    store->remember(keys.text(0), keys.text(1), keys.text(2));
  }
  if (rc != SQLITE_DONE) return keys.error("cannot read the transaction index");
  return store;
}

namespace {
std::string index_key(std::string_view direction, std::string_view origin,
                      std::string_view txn_id) {
  std::string key;
  key.reserve(direction.size() + origin.size() + txn_id.size() + 2);
  key.append(direction).append(1, '\0').append(origin).append(1, '\0').append(txn_id);
  return key;
}
}  // namespace

void QuarantineStore::remember(std::string_view direction, std::string_view origin,
                               std::string_view txn_id) {
  std::string key = index_key(direction, origin, txn_id);
  std::lock_guard lock(keys_mu_);
  keys_.insert(std::move(key));
}

bool QuarantineStore::may_contain(std::string_view direction, std::string_view origin,
                                  std::string_view txn_id) const {
  const std::string key = index_key(direction, origin, txn_id);
  std::lock_guard lock(keys_mu_);
  return keys_.contains(key);
}

Result<PutResult> QuarantineStore::put(const HeldRequest& r) {
  const bool evidence = r.verdict == StoredVerdict::redacted;
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return db_error(db_, "cannot start a quarantine transaction");
  {
    // Transactions and evidence are apart: a transaction id that equals an event id finds
    // no evidence entry, and the reverse.
    Stmt find(db_,
              "SELECT id, answer_status, answer_body, body = ?4, verdict FROM entries WHERE "
              "direction = ?1 AND origin = ?2 AND txn_id = ?3 AND (verdict = 'redacted') = ?5");
    if (!find.ok()) return find.error("cannot prepare lookup");
    find.bind_text(1, r.direction);
    find.bind(2, r.origin);
    find.bind(3, r.txn_id);
    find.bind(4, r.body);
    find.bind(5, std::int64_t{evidence ? 1 : 0});
    int rc = find.step();
    if (rc == SQLITE_ROW) {
      if (!evidence) remember(r.direction, r.origin, r.txn_id);
      PutResult p;
      p.id = find.text(0);
      p.existed = true;
      p.answer_status = static_cast<int>(find.integer(1));
      p.answer_body = find.text(2);
      p.same_body = find.integer(3) == 1;
      p.verdict = stored_verdict(find.text(4));
      return p;
    }
    if (rc != SQLITE_DONE) return find.error("cannot look up the transaction");
  }
  const std::string headers = encode_headers(r.headers);
  const std::uint64_t size = r.method.size() + r.target.size() + headers.size() + r.body.size();
  if (max_bytes_ != 0) {
    // Two budgets of max_bytes each: entries waiting for a person, and evidence.
    Stmt held(db_, evidence ? "SELECT coalesce(sum(size_bytes), 0) FROM entries WHERE status = "
                              "'evidence'"
                            : "SELECT coalesce(sum(size_bytes), 0) FROM entries WHERE status IN "
                              "('held', 'releasing', 'denied')");
    if (!held.ok() || held.step() != SQLITE_ROW) return held.error("cannot size the quarantine");
    if (static_cast<std::uint64_t>(held.integer(0)) + size > max_bytes_) {
      return make_error("quarantine_full", std::string("the quarantine holds ") +
                                               std::to_string(held.integer(0)) + " bytes of " +
                                               (evidence ? "evidence" : "held entries") +
                                               "; this entry would exceed max_bytes");
    }
  }
  PutResult p;
  p.id = new_id();
  p.answer_status = r.answer_status;
  p.answer_body = r.answer_body;
  p.verdict = r.verdict;
  Stmt ins(db_, std::string("INSERT INTO entries (") + kColumns +
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                    "?15, ?16, ?19, ?17, '', NULL, ?18, ?20)");
  if (!ins.ok()) return ins.error("cannot prepare insert");
  ins.bind_text(1, p.id);
  ins.bind_text(2, r.direction);
  ins.bind(3, r.origin);
  ins.bind(4, r.txn_id);
  ins.bind(5, r.destination);
  ins.bind(6, r.remote_addr);
  ins.bind(7, r.method);
  ins.bind(8, r.target);
  ins.bind(9, headers);
  ins.bind(10, r.body);
  ins.bind(11, to_ms(r.received));
  ins.bind(12, r.rule_id);
  ins.bind(13, r.reason);
  ins.bind(14, r.findings);
  ins.bind(15, std::int64_t{r.answer_status});
  ins.bind(16, r.answer_body);
  ins.bind(17, to_ms(Clock::now()));
  ins.bind(18, static_cast<std::int64_t>(size));
  ins.bind_text(19, status_name(first_status(r.verdict)));
  ins.bind_text(20, verdict_name(r.verdict));
  if (ins.step() != SQLITE_DONE) return ins.error("cannot store the request");
  if (!tx.commit()) return db_error(db_, "cannot commit the quarantined request");
  if (!evidence) remember(r.direction, r.origin, r.txn_id);
  return p;
}

Result<std::optional<Entry>> QuarantineStore::get(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, std::string("SELECT ") + kColumns + " FROM entries WHERE id = ?1");
  if (!s.ok()) return s.error("cannot prepare get");
  s.bind_text(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<Entry>(read_entry(s));
  if (rc != SQLITE_DONE) return s.error("cannot read entry");
  return std::optional<Entry>();
}

Result<std::optional<Entry>> QuarantineStore::lookup(const std::string& direction,
                                                     const std::string& origin,
                                                     const std::string& txn_id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, std::string("SELECT ") + kColumns +
                  " FROM entries WHERE direction = ?1 AND origin = ?2 AND txn_id = ?3 AND "
                  "verdict != 'redacted'");
  if (!s.ok()) return s.error("cannot prepare lookup");
  s.bind_text(1, direction);
  s.bind(2, origin);
  s.bind(3, txn_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<Entry>(read_entry(s));
  if (rc != SQLITE_DONE) return s.error("cannot read entry");
  return std::optional<Entry>();
}

Result<std::vector<Entry>> QuarantineStore::list(const ListFilter& f) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumnsNoBody + " FROM entries WHERE 1";
  if (f.status) sql += " AND status = ?1";
  if (!f.origin.empty()) sql += " AND origin = ?2";
  if (f.since) sql += " AND received_ms >= ?3";
  sql += " ORDER BY received_ms DESC, id LIMIT ?4";
  Stmt s(db_, sql);
  if (!s.ok()) return s.error("cannot prepare list");
  if (f.status) s.bind_text(1, status_name(*f.status));
  if (!f.origin.empty()) s.bind(2, f.origin);
  if (f.since) s.bind(3, to_ms(*f.since));
  s.bind(4, static_cast<std::int64_t>(f.limit));
  std::vector<Entry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_entry(s));
  if (rc != SQLITE_DONE) return s.error("cannot list entries");
  return out;
}

namespace {

// Whether an entry waits for a person (release or drop may take it).
bool waiting(EntryStatus s) { return s == EntryStatus::held || s == EntryStatus::denied; }

// The error for an operator action on an entry that is not held or denied.
Error not_held(const Entry& e) {
  switch (e.status) {
    case EntryStatus::released:
      return make_error("already_released", e.id + " was already released (" + e.outcome + ")");
    case EntryStatus::dropped:
      return make_error("already_dropped", e.id + " was already dropped (" + e.outcome + ")");
    case EntryStatus::releasing:
      return make_error("release_in_progress",
                        e.id +
                            " is being released by another process (use --force after a "
                            "crashed release)");
    case EntryStatus::evidence:
      return make_error("evidence_not_releasable",
                        e.id +
                            " is the original of an event delivered redacted in an answer: it is "
                            "evidence, and cannot be released into that answer later");
    case EntryStatus::held:
    case EntryStatus::denied:
      break;
  }
  return make_error("quarantine_io", "unexpected state");
}

}  // namespace

Result<Entry> QuarantineStore::begin_release(const std::string& id, bool force) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return db_error(db_, "cannot start a transaction");
  Stmt s(db_, std::string("SELECT ") + kColumns + " FROM entries WHERE id = ?1");
  if (!s.ok()) return s.error("cannot prepare");
  s.bind_text(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return make_error("not_found", "no quarantined request " + id);
  if (rc != SQLITE_ROW) return s.error("cannot read entry");
  Entry e = read_entry(s);
  if (!(waiting(e.status) || (force && e.status == EntryStatus::releasing))) {
    return not_held(e);
  }
  Stmt up(db_, "UPDATE entries SET status = 'releasing', status_changed_ms = ?2 WHERE id = ?1");
  if (!up.ok()) return up.error("cannot prepare");
  up.bind_text(1, id);
  up.bind(2, to_ms(Clock::now()));
  if (up.step() != SQLITE_DONE) return up.error("cannot claim the entry");
  if (!tx.commit()) return db_error(db_, "cannot commit");
  e.status = EntryStatus::releasing;
  return e;
}

Status QuarantineStore::finish_release(const std::string& id, bool delivered,
                                       std::optional<int> core_status, const std::string& outcome) {
  std::lock_guard lock(mu_);
  Stmt up(db_,
          "UPDATE entries SET status = CASE WHEN ?2 THEN 'released' WHEN verdict = 'deny' THEN "
          "'denied' ELSE 'held' END, status_changed_ms = ?3, outcome = ?4, core_status = ?5 "
          "WHERE id = ?1 AND status = 'releasing'");
  if (!up.ok()) return up.error("cannot prepare");
  up.bind_text(1, id);
  up.bind(2, std::int64_t{delivered ? 1 : 0});
  up.bind(3, to_ms(Clock::now()));
  up.bind(4, outcome);
  if (core_status)
    up.bind(5, std::int64_t{*core_status});
  else
    up.bind_null(5);
  if (up.step() != SQLITE_DONE) return up.error("cannot record the release");
  if (sqlite3_changes(db_) != 1) {
    return make_error("release_not_claimed", id + " is not being released");
  }
  return {};
}

Status QuarantineStore::drop(const std::string& id, const std::string& outcome) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!tx.ok()) return db_error(db_, "cannot start a transaction");
  Stmt s(db_, std::string("SELECT ") + kColumnsNoBody + " FROM entries WHERE id = ?1");
  if (!s.ok()) return s.error("cannot prepare");
  s.bind_text(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return make_error("not_found", "no quarantined request " + id);
  if (rc != SQLITE_ROW) return s.error("cannot read entry");
  Entry e = read_entry(s);
  if (!waiting(e.status) && e.status != EntryStatus::evidence) return not_held(e);
  Stmt up(db_,
          "UPDATE entries SET status = 'dropped', status_changed_ms = ?2, outcome = ?3 WHERE id "
          "= ?1");
  if (!up.ok()) return up.error("cannot prepare");
  up.bind_text(1, id);
  up.bind(2, to_ms(Clock::now()));
  up.bind(3, outcome);
  if (up.step() != SQLITE_DONE) return up.error("cannot drop the entry");
  if (!tx.commit()) return db_error(db_, "cannot commit");
  return {};
}

Result<StoreStats> QuarantineStore::stats() {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT coalesce(sum(status IN ('held', 'releasing')), 0), coalesce(sum(status = "
         "'denied'), 0), coalesce(sum(CASE WHEN status IN ('held', 'releasing', 'denied') THEN "
         "size_bytes ELSE 0 END), 0), count(*), coalesce(sum(status = 'evidence'), 0), "
         "coalesce(sum(CASE WHEN status = 'evidence' THEN size_bytes ELSE 0 END), 0) "
         "FROM entries");
  if (!s.ok() || s.step() != SQLITE_ROW) return s.error("cannot count entries");
  StoreStats st;
  st.held_count = static_cast<std::uint64_t>(s.integer(0));
  st.denied_count = static_cast<std::uint64_t>(s.integer(1));
  st.held_bytes = static_cast<std::uint64_t>(s.integer(2));
  st.total_count = static_cast<std::uint64_t>(s.integer(3));
  st.evidence_count = static_cast<std::uint64_t>(s.integer(4));
  st.evidence_bytes = static_cast<std::uint64_t>(s.integer(5));
  return st;
}

}  // namespace bordergate::quarantine
