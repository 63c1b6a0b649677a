#include "gateway/audit/audit_record.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "gateway/common/log.h"
#include "gateway/matrix/json.h"

namespace bordergate::audit {
namespace {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void member_string(std::string& out, const char* key, const std::string& value) {
  if (value.empty()) return;
  out += ",\"";
  out += key;
  out += "\":";
  append_json_text(out, value);
}

void member_list(std::string& out, const char* key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  out += ",\"";
  out += key;
  out += "\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_json_text(out, values[i]);
  }
  out += ']';
}

void member_uint(std::string& out, const char* key, std::uint64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_uint(out, value);
}

}  // namespace

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the compiler imagines in %04d
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

void append_note(std::string& note, std::string_view part) {
  if (part.empty()) return;
  if (!note.empty()) note += "; ";
  note += part;
}

void append_json_text(std::string& out, std::string_view text) {
  if (matrix::is_valid_utf8(text)) {
    matrix::append_json_string(out, text);
    return;
  }
  out += '"';
  append_json_escaped(out, text);  // ASCII only: bytes >= 0x80 become \u00XX
  out += '"';
}

void append_record_members(std::string& out, const AuditRecord& r) {
  out += ",\"time\":\"";
  out += format_time(r.time);
  out += '"';
  member_string(out, "type", r.type);
  member_string(out, "direction", r.direction);
  member_string(out, "origin", r.origin);
  member_string(out, "destination", r.destination);
  member_string(out, "remote_addr", r.remote_addr);
  member_string(out, "method", r.method);
  member_string(out, "endpoint", r.endpoint);
  member_string(out, "room_id", r.room_id);
  member_string(out, "user_id", r.user_id);
  member_string(out, "event_id", r.event_id);
  member_string(out, "server_name", r.server_name);
  member_string(out, "txn_id", r.txn_id);
  member_list(out, "event_ids", r.event_ids);
  member_list(out, "event_types", r.event_types);
  member_list(out, "edu_types", r.edu_types);
  member_list(out, "answer_event_ids", r.answer_event_ids);
  member_list(out, "answer_event_types", r.answer_event_types);
  member_list(out, "answer_event_verdicts", r.answer_event_verdicts);
  member_list(out, "mixed_room_ids", r.mixed_room_ids);
  member_list(out, "mixed_room_servers", r.mixed_room_servers);
  member_string(out, "room_version", r.room_version);
  member_string(out, "action", r.action);
  member_string(out, "rule_id", r.rule_id);
  member_string(out, "reason", r.reason);
  member_string(out, "policy_sha256", r.policy_sha256);
  member_string(out, "policy_file", r.policy_file);
  member_string(out, "policy_revision", r.policy_revision);
  member_string(out, "trigger", r.trigger);
  if (r.status) member_uint(out, "status", static_cast<std::uint64_t>(*r.status));
  if (r.request_bytes) member_uint(out, "request_bytes", r.request_bytes);
  if (r.response_bytes) member_uint(out, "response_bytes", r.response_bytes);
  if (r.latency_us) member_uint(out, "latency_us", *r.latency_us);
  member_string(out, "quarantine_id", r.quarantine_id);
  member_string(out, "actor", r.actor);
  member_string(out, "note", r.note);
  if (!r.facts.empty()) {
    out += ",\"facts\":";
    out += r.facts;
  }
  out += '}';
}

}  // namespace bordergate::audit
