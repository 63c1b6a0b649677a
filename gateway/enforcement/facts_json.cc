#include "gateway/enforcement/facts_json.h"

#include <charconv>

#include "gateway/audit/audit_record.h"

namespace bordergate::enforcement {
namespace {

using policy::CheckResult;

std::string_view check_name(CheckResult c) {
  return c == CheckResult::passed ? "passed" : c == CheckResult::failed ? "failed" : "not_run";
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void open() {
    out_ += '{';
    first_ = true;
  }
  void close() {
    out_ += '}';
    first_ = false;
  }
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;
    out_ += "\":";
  }
  void text(std::string_view k, std::string_view v) {
    if (v.empty()) return;
    key(k);
    audit::append_json_text(out_, v);
  }
  void number(std::string_view k, std::uint64_t v) {
    key(k);
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void check(std::string_view k, CheckResult c) {
    if (c != CheckResult::not_run) text(k, check_name(c));
  }
  void begin_array(std::string_view k) {
    key(k);
    out_ += '[';
    first_ = true;
  }
  void end_array() {
    out_ += ']';
    first_ = false;
  }
  void element_separator() {
    if (!first_) out_ += ',';
    first_ = false;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

Error bad(std::string what) { return Error{"bad_facts", "the record's facts: " + std::move(what)}; }

// Members are optional; present ones must have the right type.
bool get_text(const matrix::JsonObject& o, std::string_view key, std::string& into) {
  auto it = o.find(key);
  if (it == o.end()) return true;
  const std::string* s = it->second.string_if();
  if (s == nullptr) return false;
  into = *s;
  return true;
}

bool get_count(const matrix::JsonObject& o, std::string_view key, std::uint64_t& into) {
  auto it = o.find(key);
  if (it == o.end()) return true;
  auto v = it->second.int_if();
  if (!v || *v < 0) return false;
  into = static_cast<std::uint64_t>(*v);
  return true;
}

bool get_check(const matrix::JsonObject& o, std::string_view key, CheckResult& into) {
  std::string s;
  if (!get_text(o, key, s)) return false;
  if (s.empty() || s == "not_run") {
    into = CheckResult::not_run;
  } else if (s == "passed") {
    into = CheckResult::passed;
  } else if (s == "failed") {
    into = CheckResult::failed;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string facts_json(const policy::RequestFacts& f, const policy::Decision& d) {
  std::string out;
  out.reserve(256 + 160 * f.pdus.size() + 96 * f.edus.size());
  Writer w(out);
  w.open();
  w.number("v", kFactsVersion);
  w.text("direction", policy::direction_name(f.direction));
  if (f.origin) {
    w.key("origin");
    audit::append_json_text(out, *f.origin);
  }
  w.text("destination", f.destination);
  w.text("endpoint", policy::endpoint_name(f.endpoint));
  w.text("room_id", f.room_id);
  w.text("user_id", f.user_id);
  w.text("event_id", f.event_id);
  w.text("server_name", f.server_name);
  w.text("invite_sender", f.invite_sender);
  w.text("invite_target", f.invite_target);
  if (f.body_bytes) w.number("body_bytes", f.body_bytes);
  w.check("x_matrix", f.x_matrix);
  if (f.pdu_count) w.number("pdu_count", *f.pdu_count);
  if (f.edu_count) w.number("edu_count", *f.edu_count);
  if (f.media) {
    w.key("media");
    w.open();
    if (f.media->size) w.number("size", *f.media->size);
    w.text("content_type", f.media->content_type);
    w.close();
  }
  if (f.room_servers) {
    w.begin_array("room_servers");
    const std::size_t n = std::min(f.room_servers->size(), kMaxRecordedRoomServers);
    for (std::size_t i = 0; i < n; ++i) {
      w.element_separator();
      audit::append_json_text(out, (*f.room_servers)[i]);
    }
    w.end_array();
    if (f.room_servers->size() > n) w.number("room_servers_total", f.room_servers->size());
  }
  if (!f.pdus.empty()) {
    w.begin_array("pdus");
    for (const policy::PduFacts& p : f.pdus) {
      w.element_separator();
      w.open();
      w.text("type", p.event_type);
      w.text("room", p.room_id);
      w.text("sender", p.sender);
      w.check("hashes", p.hashes);
      w.check("signatures", p.signatures);
      if (p.too_large) {
        w.key("too_large");
        out += "true";
      }
      w.close();
    }
    w.end_array();
  }
  if (!f.edus.empty()) {
    w.begin_array("edus");
    for (const policy::EduFacts& e : f.edus) {
      w.element_separator();
      w.open();
      w.text("type", e.edu_type);
      w.text("room", e.room_id);
      w.text("user", e.user_id);
      w.check("origin_binding", e.origin_binding);
      w.close();
    }
    w.end_array();
  }
  w.key("decided");
  w.open();
  w.text("action", policy::action_name(d.action));
  w.text("rule", d.rule_id);
  w.text("reason", d.reason);
  w.close();
  w.close();
  return out;
}

Result<RecordedFacts> facts_from_json(const matrix::Json& json) {
  const matrix::JsonObject* o = json.object_if();
  if (o == nullptr) return bad("not an object");
  std::uint64_t version = 0;
  if (!get_count(*o, "v", version) || version != kFactsVersion)
    return bad("version is not " + std::to_string(kFactsVersion));
  RecordedFacts r;
  policy::RequestFacts& f = r.facts;
  std::string direction, endpoint;
  if (!get_text(*o, "direction", direction)) return bad("direction");
  if (direction == "inbound") {
    f.direction = policy::Direction::inbound;
  } else if (direction == "outbound") {
    f.direction = policy::Direction::outbound;
  } else {
    return bad("direction `" + direction + "`");
  }
  if (auto it = o->find("origin"); it != o->end()) {
    if (it->second.string_if() == nullptr) return bad("origin");
    f.origin = *it->second.string_if();
  }
  if (!get_text(*o, "endpoint", endpoint)) return bad("endpoint");
  auto e = policy::endpoint_from_name(endpoint);
  if (!e) return bad("unknown endpoint `" + endpoint + "`");
  f.endpoint = *e;
  if (!get_text(*o, "destination", f.destination) || !get_text(*o, "room_id", f.room_id) ||
      !get_text(*o, "user_id", f.user_id) || !get_text(*o, "event_id", f.event_id) ||
      !get_text(*o, "server_name", f.server_name) ||
      !get_text(*o, "invite_sender", f.invite_sender) ||
      !get_text(*o, "invite_target", f.invite_target) ||
      !get_count(*o, "body_bytes", f.body_bytes) || !get_check(*o, "x_matrix", f.x_matrix)) {
    return bad("a path parameter, body_bytes or x_matrix has the wrong type");
  }
  for (auto [key, into] : {std::pair{"pdu_count", &f.pdu_count}, {"edu_count", &f.edu_count}}) {
    std::uint64_t n = 0;
    if (!get_count(*o, key, n) || n > UINT32_MAX) return bad(key);
    if (o->count(key)) *into = static_cast<std::uint32_t>(n);
  }
  if (auto it = o->find("media"); it != o->end()) {
    const matrix::JsonObject* m = it->second.object_if();
    if (m == nullptr) return bad("media");
    policy::MediaFacts media;
    std::uint64_t size = 0;
    if (!get_count(*m, "size", size) || !get_text(*m, "content_type", media.content_type))
      return bad("media");
    if (m->count("size")) media.size = size;
    f.media = std::move(media);
  }
  if (auto it = o->find("room_servers"); it != o->end()) {
    const matrix::JsonArray* a = it->second.array_if();
    if (a == nullptr) return bad("room_servers");
    std::vector<std::string> servers;
    for (const matrix::Json& s : *a) {
      if (s.string_if() == nullptr) return bad("room_servers");
      servers.push_back(*s.string_if());
    }
    r.room_servers_total = servers.size();
    std::uint64_t total = 0;
    if (!get_count(*o, "room_servers_total", total)) return bad("room_servers_total");
    if (total > servers.size()) r.room_servers_total = static_cast<std::size_t>(total);
    f.room_servers = std::move(servers);
  }
  if (auto it = o->find("pdus"); it != o->end()) {
    const matrix::JsonArray* a = it->second.array_if();
    if (a == nullptr) return bad("pdus");
    for (const matrix::Json& item : *a) {
      const matrix::JsonObject* p = item.object_if();
      policy::PduFacts pdu;
      if (p == nullptr || !get_text(*p, "type", pdu.event_type) ||
          !get_text(*p, "room", pdu.room_id) || !get_text(*p, "sender", pdu.sender) ||
          !get_check(*p, "hashes", pdu.hashes) || !get_check(*p, "signatures", pdu.signatures)) {
        return bad("a PDU");
      }
      if (auto t = p->find("too_large"); t != p->end()) {
        if (!t->second.bool_if()) return bad("a PDU's too_large");
        pdu.too_large = *t->second.bool_if();
      }
      f.pdus.push_back(std::move(pdu));
    }
  }
  if (auto it = o->find("edus"); it != o->end()) {
    const matrix::JsonArray* a = it->second.array_if();
    if (a == nullptr) return bad("edus");
    for (const matrix::Json& item : *a) {
      const matrix::JsonObject* p = item.object_if();
      policy::EduFacts edu;
      if (p == nullptr || !get_text(*p, "type", edu.edu_type) ||
          !get_text(*p, "room", edu.room_id) || !get_text(*p, "user", edu.user_id) ||
          !get_check(*p, "origin_binding", edu.origin_binding)) {
        return bad("an EDU");
      }
      f.edus.push_back(std::move(edu));
    }
  }
  const auto decided = o->find("decided");
  if (decided == o->end() || decided->second.object_if() == nullptr) return bad("decided");
  const matrix::JsonObject& d = *decided->second.object_if();
  if (!get_text(d, "action", r.action) || !policy::action_from_name(r.action) ||
      !get_text(d, "rule", r.rule) || !get_text(d, "reason", r.reason)) {
    return bad("decided");
  }
  return r;
}

}  // namespace bordergate::enforcement
