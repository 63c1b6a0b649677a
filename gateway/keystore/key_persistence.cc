#include "gateway/keystore/key_persistence.h"

#include <sqlite3.h>

#include "gateway/matrix/base64.h"
#include "gateway/matrix/hash.h"

namespace bordergate::keystore {
namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Error sql_error(sqlite3* db, const std::string& what) {
  return make_error("keystore_sql_error", what + ": " + sqlite3_errmsg(db));
}

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return make_error("keystore_sql_error", std::string(sql).substr(0, 40) + ": " + text);
  }
  return {};
}

Result<Stmt> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return sql_error(db, "prepare");
  }
  return Stmt(stmt);
}

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text != nullptr ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
                         : std::string();
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS server_key_responses (
  server_name     TEXT    NOT NULL,
  response_sha256 TEXT    NOT NULL,
  source          TEXT    NOT NULL,
  fetched_at_ms   INTEGER NOT NULL,
  valid_until_ts  INTEGER NOT NULL,
  raw_json        TEXT    NOT NULL,
  PRIMARY KEY (server_name, response_sha256)
);
PRAGMA user_version = 1;
)sql";

}  // namespace

void KeyPersistence::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<std::unique_ptr<KeyPersistence>> KeyPersistence::open(const std::string& path,
                                                             std::size_t keep_per_server) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &raw, flags, nullptr) != SQLITE_OK) {
    std::string message = raw != nullptr ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close_v2(raw);
    return make_error("keystore_open_failed", "cannot open " + path + ": " + message);
  }
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  sqlite3_busy_timeout(raw, 5000);
  // WAL: readers (a second gateway process, `bordergate keys` CLI) never block the writer.
  if (auto ok = exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !ok) {
    return make_error("keystore_open_failed", "cannot open " + path + ": " + ok.error().message);
  }
  auto version_stmt = prepare(raw, "PRAGMA user_version;");
  if (!version_stmt) return version_stmt.error();
  int version = 0;
  if (sqlite3_step(version_stmt->get()) == SQLITE_ROW) version = sqlite3_column_int(version_stmt->get(), 0);
  version_stmt->reset();
  if (version > kSchemaVersion) {
    return make_error("keystore_schema_unsupported",
                      path + " has schema version " + std::to_string(version) + ", this build knows " +
                          std::to_string(kSchemaVersion));
  }
  if (version < kSchemaVersion) {
    if (auto ok = exec(raw, kSchema); !ok) return ok.error();
  }
  return std::unique_ptr<KeyPersistence>(new KeyPersistence(db.release(), keep_per_server));
}

KeyPersistence::KeyPersistence(sqlite3* db, std::size_t keep_per_server)
    : db_(db), keep_per_server_(keep_per_server), writer_([this] { writer_loop(); }) {}

KeyPersistence::~KeyPersistence() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  writer_.join();
}

Result<std::vector<PersistedResponse>> KeyPersistence::load_all() {
  std::lock_guard lock(db_mutex_);
  auto stmt = prepare(db_.get(),
                      "SELECT server_name, source, fetched_at_ms, valid_until_ts, raw_json "
                      "FROM server_key_responses ORDER BY fetched_at_ms, valid_until_ts;");
  if (!stmt) return stmt.error();
  std::vector<PersistedResponse> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    PersistedResponse r;
    r.server_name = column_text(stmt->get(), 0);
    r.source = column_text(stmt->get(), 1);
    r.fetched_at_ms = sqlite3_column_int64(stmt->get(), 2);
    r.valid_until_ts = sqlite3_column_int64(stmt->get(), 3);
    r.raw_json = column_text(stmt->get(), 4);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sql_error(db_.get(), "load");
  return out;
}

void KeyPersistence::save(PersistedResponse response) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(response));
  }
  queue_cv_.notify_one();
}

void KeyPersistence::flush() {
  std::unique_lock lock(queue_mutex_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

void KeyPersistence::writer_loop() {
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained
    PersistedResponse next = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    if (write(next)) {
      writes_.fetch_add(1);
    } else {
      write_errors_.fetch_add(1);  // the in-memory cache still has the keys; only restart loses them
    }
    lock.lock();
    writing_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

Status KeyPersistence::write(const PersistedResponse& response) {
  std::lock_guard lock(db_mutex_);
  sqlite3* db = db_.get();
  const std::string digest = matrix::base64_encode(matrix::sha256(response.raw_json));
  if (auto ok = exec(db, "BEGIN IMMEDIATE;"); !ok) return ok;
  auto insert = prepare(db,
                        "INSERT INTO server_key_responses "
                        "(server_name, response_sha256, source, fetched_at_ms, valid_until_ts, raw_json) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                        "ON CONFLICT (server_name, response_sha256) DO UPDATE SET "
                        "fetched_at_ms = max(fetched_at_ms, excluded.fetched_at_ms);");
  auto prune = prepare(db,
                       "DELETE FROM server_key_responses WHERE server_name = ?1 AND rowid NOT IN ("
                       "SELECT rowid FROM server_key_responses WHERE server_name = ?1 "
                       "ORDER BY valid_until_ts DESC, fetched_at_ms DESC LIMIT ?2);");
  if (!insert || !prune) {
    (void)exec(db, "ROLLBACK;");
    return insert ? prune.error() : insert.error();
  }
  bind_text(insert->get(), 1, response.server_name);
  bind_text(insert->get(), 2, digest);
  bind_text(insert->get(), 3, response.source);
  sqlite3_bind_int64(insert->get(), 4, response.fetched_at_ms);
  sqlite3_bind_int64(insert->get(), 5, response.valid_until_ts);
  bind_text(insert->get(), 6, response.raw_json);
  bind_text(prune->get(), 1, response.server_name);
  sqlite3_bind_int64(prune->get(), 2, static_cast<sqlite3_int64>(keep_per_server_));
  if (sqlite3_step(insert->get()) != SQLITE_DONE || sqlite3_step(prune->get()) != SQLITE_DONE) {
    Error error = sql_error(db, "write");
    (void)exec(db, "ROLLBACK;");
    return error;
  }
  return exec(db, "COMMIT;");
}

}  // namespace bordergate::keystore
