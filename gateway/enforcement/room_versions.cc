#include "gateway/enforcement/room_versions.h"

#include <sqlite3.h>

namespace bordergate::enforcement {

Result<std::unique_ptr<RoomVersions>> RoomVersions::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("room_versions_open_failed", path + ": " + why);
  }
  auto rv = std::unique_ptr<RoomVersions>(new RoomVersions());
  rv->db_ = db;
  char* err = nullptr;
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS room_versions ("
                   " room_id TEXT PRIMARY KEY, version TEXT NOT NULL, learnt_ms INTEGER NOT NULL);",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : "unknown";
    sqlite3_free(err);
    return make_error("room_versions_sql_error", path + ": " + why);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT room_id, version FROM room_versions", -1, &stmt, nullptr) !=
      SQLITE_OK) {
    return make_error("room_versions_sql_error", path + ": " + sqlite3_errmsg(db));
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* room = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    const auto* version = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
    if (room == nullptr || version == nullptr) continue;
    if (const matrix::RoomVersionRules* rules = matrix::find_room_version(version)) {
      rv->rooms_.emplace(room, rules);
    }
  }
  sqlite3_finalize(stmt);
  return rv;
}

RoomVersions::~RoomVersions() {
  if (db_ != nullptr) sqlite3_close(db_);
}

const matrix::RoomVersionRules* RoomVersions::find(std::string_view room_id) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : it->second;
}

std::size_t RoomVersions::size() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

void RoomVersions::learn(std::string_view room_id, std::string_view version) {
  const matrix::RoomVersionRules* rules = matrix::find_room_version(version);
  if (rules == nullptr || room_id.empty()) return;
  std::lock_guard lock(mutex_);
  if (rooms_.contains(room_id)) return;
  if (rooms_.size() >= kMaxRooms) return;  // bounded; older knowledge is the more useful
  rooms_.emplace(std::string(room_id), rules);
  if (db_ == nullptr) return;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "INSERT OR IGNORE INTO room_versions (room_id, version, learnt_ms) "
          "VALUES (?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
          -1, &stmt, nullptr) != SQLITE_OK) {
    return;  // the in-memory map still has it
  }
  sqlite3_bind_text(stmt, 1, room_id.data(), static_cast<int>(room_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, rules->id.data(), static_cast<int>(rules->id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
}

}  // namespace bordergate::enforcement
