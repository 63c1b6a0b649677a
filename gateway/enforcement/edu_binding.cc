#include "gateway/enforcement/edu_binding.h"

namespace bordergate::enforcement {
namespace {

using matrix::Json;
using policy::CheckResult;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

const std::string* string_member(const Json* object, std::string_view key) {
  if (object == nullptr) return nullptr;
  const Json* v = object->find(key);
  return v != nullptr ? v->string_if() : nullptr;
}

// Binds one user id; remembers the first one seen for the facts.
struct Binder {
  std::string_view origin;
  policy::EduFacts& facts;
  bool ok = true;

  void user(const std::string* id) {
    if (id == nullptr) {
      ok = false;
      return;
    }
    if (facts.user_id.empty()) facts.user_id = *id;
    if (!same_server(user_server(*id), origin)) ok = false;
  }
};

}  // namespace

std::string_view user_server(std::string_view user_id) {
  if (user_id.size() < 3 || user_id.front() != '@') return {};
  const std::size_t colon = user_id.find(':');
  if (colon == std::string_view::npos || colon == 1 || colon + 1 == user_id.size()) return {};
  return user_id.substr(colon + 1);
}

bool same_server(std::string_view a, std::string_view b) {
  if (a.empty() || a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

policy::EduFacts edu_facts(const Json& edu, std::string_view origin) {
  policy::EduFacts facts;
  const std::string* type = string_member(&edu, "edu_type");
  if (type != nullptr) facts.edu_type = *type;
  const Json* content = edu.find("content");
  if (type == nullptr || content == nullptr || !content->is_object()) {
    facts.origin_binding = CheckResult::failed;  // malformed: nothing can be bound
    return facts;
  }
  Binder bind{origin, facts};
  const std::string_view t = *type;
  if (t == "m.typing") {
    if (const std::string* room = string_member(content, "room_id")) facts.room_id = *room;
    bind.user(string_member(content, "user_id"));
  } else if (t == "m.device_list_update" || t == "m.signing_key_update" ||
             t == "org.matrix.signing_key_update") {
    bind.user(string_member(content, "user_id"));
  } else if (t == "m.direct_to_device") {
    bind.user(string_member(content, "sender"));
  } else if (t == "m.presence") {
    const Json* push = content->find("push");
    if (push == nullptr || !push->is_array()) {
      bind.ok = false;
    } else {
      for (const Json& p : *push->array_if()) bind.user(string_member(&p, "user_id"));
    }
  } else if (t == "m.receipt") {
    // {room_id: {receipt_type: {user_id: {...}}}}
    for (const auto& [room, by_type] : *content->object_if()) {
      if (facts.room_id.empty()) facts.room_id = room;
      if (!by_type.is_object()) {
        bind.ok = false;
        continue;
      }
      for (const auto& [receipt_type, by_user] : *by_type.object_if()) {
        if (!by_user.is_object()) {
          bind.ok = false;
          continue;
        }
        for (const auto& [user, receipt] : *by_user.object_if()) bind.user(&user);
      }
    }
  } else {
    return facts;  // not_run: the spec binds no user id in this type
  }
  facts.origin_binding = bind.ok ? CheckResult::passed : CheckResult::failed;
  return facts;
}

}  // namespace bordergate::enforcement
