// Who is in a room, as far as the gateway has seen it: room id -> user -> (joined, depth), learnt
// from the membership events that cross the border (in requests and in answers, both directions,
// once their signatures verified; the Core's own served as trusted), and kept across restarts in
// a small SQLite table. A send_join answer's state names every member of the room; a room the
// Core has been in for a while is known from its membership events.
//
// What it serves: the policy condition room_members_outside_federations (the servers of a room,
// RequestFacts::room_servers) and the audit flag of a room a server of no federation joins (a
// room that becomes mixed). It is an observation, not state resolution: a membership event that
// the room's authorization rules would reject still counts, and of two events about one user the
// deeper one wins (a tie: the later seen), so that backfilled history never rejoins a user who
// left.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/matrix/json.h"

struct sqlite3;

namespace bordergate::enforcement {

// One m.room.member event, as the tracker needs it.
struct Membership {
  std::string room_id;
  std::string user_id;  // the state_key: whose membership it is
  bool joined = false;  // membership "join"; every other membership (leave, ban, invite, knock)
                        // is not joined
  std::int64_t depth = 0;
};

// The membership an event states, or nullopt when it is not an m.room.member event with a
// string room_id, a user id as state_key, a string content.membership and an integer depth.
std::optional<Membership> membership_of(const matrix::JsonObject& event);

// A server whose first joined member in a room the tracker just learnt of.
struct JoinedServer {
  std::string room_id;
  std::string server;
};

class RoomMembers {
 public:
  // Bounds: a room of more members, or more rooms, is known in part; what does not fit is
  // counted (dropped()) and not kept.
  static constexpr std::size_t kMaxRooms = 100000;
  static constexpr std::size_t kMaxEntries = 500000;  // users over all rooms (~130 bytes each)

  // In memory only (tests, or no state directory), with other bounds for tests.
  RoomMembers() = default;
  RoomMembers(std::size_t max_rooms, std::size_t max_entries)
      : max_rooms_(max_rooms), max_entries_(max_entries) {}
  // Opens (creating) the SQLite file and loads what it holds. Errors: "room_members_open_failed",
  // "room_members_sql_error".
  static Result<std::unique_ptr<RoomMembers>> open(const std::string& path);
  ~RoomMembers();
  RoomMembers(const RoomMembers&) = delete;
  RoomMembers& operator=(const RoomMembers&) = delete;

  // Records memberships (one transaction for the file). Returns the servers that got their first
  // joined member in a room by them, in order. Thread-safe.
  std::vector<JoinedServer> observe(std::span<const Membership> events);

  // The servers with a joined member in the room (sorted), or nullopt when the room is unknown.
  // Thread-safe.
  std::optional<std::vector<std::string>> servers(std::string_view room_id) const;

  std::size_t rooms() const;
  std::size_t entries() const;
  std::uint64_t dropped() const;

 private:
  struct Member {
    bool joined = false;
    std::int64_t depth = 0;
  };
  struct Room {
    std::map<std::string, Member, std::less<>> users;
    std::map<std::string, std::uint32_t, std::less<>> joined;  // server -> joined members
  };
  // Applies one event in memory; true when it changed what the room records.
  bool apply(const Membership& m, std::vector<JoinedServer>& joined_servers);
  void persist(std::span<const Membership> changed);

  mutable std::mutex mutex_;
  std::map<std::string, Room, std::less<>> rooms_;
  std::size_t max_rooms_ = kMaxRooms, max_entries_ = kMaxEntries;
  std::size_t entries_ = 0;
  std::uint64_t dropped_ = 0;
  sqlite3* db_ = nullptr;
};

}  // namespace bordergate::enforcement
