// room id -> room version, learnt from what passes through (verified create events, v2 invites)
// and kept across restarts in a small SQLite table: a PDU does not name its room's version, and
// every check after the first one of a room is exact instead of a guess over rule families.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/matrix/room_version.h"

struct sqlite3;

namespace bordergate::enforcement {

class RoomVersions {
 public:
  // In memory only (tests, or no state directory).
  RoomVersions() = default;
  // Opens (creating) the SQLite file and loads what it holds. Errors: "room_versions_open_failed",
  // "room_versions_sql_error".
  static Result<std::unique_ptr<RoomVersions>> open(const std::string& path);
  ~RoomVersions();
  RoomVersions(const RoomVersions&) = delete;
  RoomVersions& operator=(const RoomVersions&) = delete;

  // Thread-safe.
  const matrix::RoomVersionRules* find(std::string_view room_id) const;
  // Records a version; unknown version ids and empty room ids are ignored. A room's version never
  // changes, so a second, different answer for a room is ignored too (first verified wins).
  // Writes through to the file (WAL, synchronous=NORMAL: a crash may lose the newest rooms, which
  // are then learnt again).
  void learn(std::string_view room_id, std::string_view version);
  std::size_t size() const;

 private:
  static constexpr std::size_t kMaxRooms = 1 << 20;
  mutable std::mutex mutex_;
  std::map<std::string, const matrix::RoomVersionRules*, std::less<>> rooms_;
  sqlite3* db_ = nullptr;
};

}  // namespace bordergate::enforcement
