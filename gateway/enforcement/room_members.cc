#include "gateway/enforcement/room_members.h"

#include <sqlite3.h>

#include "gateway/common/ascii.h"
#include "policy/server_name.h"

namespace bordergate::enforcement {
namespace {

const std::string* str(const matrix::JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.string_if();
}

// The server of a user id as the policy matches server names (policy/server_name.h): lower-cased,
// without port. "@a:Example.org:8448" -> "example.org".
std::string member_server(std::string_view user) {
  std::string out(policy::strip_port(policy::id_domain(user)));
  for (char& c : out) c = ascii_lower(c);
  return out;
}

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
  ~Statement() { sqlite3_finalize(stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
};

}  // namespace

std::optional<Membership> membership_of(const matrix::JsonObject& event) {
  const std::string* type = str(event, "type");
  if (type == nullptr || *type != "m.room.member") return std::nullopt;
  const std::string* room = str(event, "room_id");
  const std::string* user = str(event, "state_key");
  if (room == nullptr || room->empty() || user == nullptr || user->size() < 3 ||
      user->front() != '@' || user->find(':') == std::string::npos) {
    return std::nullopt;
  }
  auto content = event.find("content");
  if (content == event.end() || !content->second.is_object()) return std::nullopt;
  const std::string* membership = str(*content->second.object_if(), "membership");
  auto depth = event.find("depth");
  if (membership == nullptr || depth == event.end() || !depth->second.int_if()) return std::nullopt;
  return Membership{*room, *user, *membership == "join", *depth->second.int_if()};
}

Result<std::unique_ptr<RoomMembers>> RoomMembers::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("room_members_open_failed", path + ": " + why);
  }
  auto rm = std::unique_ptr<RoomMembers>(new RoomMembers());
  rm->db_ = db;
  char* err = nullptr;
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS room_members ("
                   " room_id TEXT NOT NULL, user_id TEXT NOT NULL, joined INTEGER NOT NULL,"
                   " depth INTEGER NOT NULL, PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : "unknown";
    sqlite3_free(err);
    return make_error("room_members_sql_error", path + ": " + why);
  }
  Statement select(db, "SELECT room_id, user_id, joined, depth FROM room_members");
  if (select.stmt == nullptr) {
    return make_error("room_members_sql_error", path + ": " + sqlite3_errmsg(db));
  }
  std::vector<JoinedServer> ignored;
  while (sqlite3_step(select.stmt) == SQLITE_ROW) {
    const auto* room = reinterpret_cast<const char*>(sqlite3_column_text(select.stmt, 0));
    const auto* user = reinterpret_cast<const char*>(sqlite3_column_text(select.stmt, 1));
    if (room == nullptr || user == nullptr) continue;
    rm->apply(
        {room, user, sqlite3_column_int(select.stmt, 2) != 0, sqlite3_column_int64(select.stmt, 3)},
        ignored);
  }
  return rm;
}

RoomMembers::~RoomMembers() {
  if (db_ != nullptr) sqlite3_close(db_);
}

bool RoomMembers::apply(const Membership& m, std::vector<JoinedServer>& joined_servers) {
  const std::string server = member_server(m.user_id);
  if (server.empty()) return false;
  auto room_it = rooms_.find(m.room_id);
  if (room_it == rooms_.end()) {
    if (rooms_.size() >= max_rooms_ || entries_ >= max_entries_) {
      ++dropped_;
      return false;
    }
    room_it = rooms_.emplace(m.room_id, Room{}).first;
  }
  Room& room = room_it->second;
  auto user_it = room.users.find(m.user_id);
  if (user_it == room.users.end()) {
    if (entries_ >= max_entries_) {
      ++dropped_;
      return false;
    }
    user_it = room.users.emplace(m.user_id, Member{}).first;
    ++entries_;
    user_it->second = {m.joined, m.depth};
    if (m.joined && room.joined[server]++ == 0) joined_servers.push_back({m.room_id, server});
    return true;
  }
  Member& member = user_it->second;
  if (m.depth < member.depth) return false;  // older history: the deeper event stands
  const bool was_joined = member.joined;
  const bool changed = member.joined != m.joined || member.depth != m.depth;
  member = {m.joined, m.depth};
  if (!was_joined && m.joined) {
    if (room.joined[server]++ == 0) joined_servers.push_back({m.room_id, server});
  } else if (was_joined && !m.joined) {
    auto s = room.joined.find(server);
    if (s != room.joined.end() && --s->second == 0) room.joined.erase(s);
  }
  return changed;
}

void RoomMembers::persist(std::span<const Membership> changed) {
  if (db_ == nullptr || changed.empty()) return;
  // The in-memory map stays right when a write fails; the file then lags until the next change
  // of that user (learnt again from traffic).
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  Statement upsert(db_,
                   "INSERT OR REPLACE INTO room_members (room_id, user_id, joined, depth) "
                   "VALUES (?, ?, ?, ?)");
  if (upsert.stmt != nullptr) {
    for (const Membership& m : changed) {
      sqlite3_bind_text(upsert.stmt, 1, m.room_id.data(), static_cast<int>(m.room_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(upsert.stmt, 2, m.user_id.data(), static_cast<int>(m.user_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(upsert.stmt, 3, m.joined ? 1 : 0);
      sqlite3_bind_int64(upsert.stmt, 4, m.depth);
      sqlite3_step(upsert.stmt);
      sqlite3_reset(upsert.stmt);
    }
  }
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
}

std::vector<JoinedServer> RoomMembers::observe(std::span<const Membership> events) {
  std::vector<JoinedServer> joined_servers;
  std::vector<Membership> changed;
  std::lock_guard lock(mutex_);
  for (const Membership& m : events) {
    if (apply(m, joined_servers)) changed.push_back(m);
  }
  persist(changed);
  return joined_servers;
}

std::optional<std::vector<std::string>> RoomMembers::servers(std::string_view room_id) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(it->second.joined.size());
  for (const auto& [server, n] : it->second.joined) out.push_back(server);
  return out;
}

std::size_t RoomMembers::rooms() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

std::size_t RoomMembers::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::uint64_t RoomMembers::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace bordergate::enforcement
