#include "gateway/audit/audit_chain.h"

#include <charconv>

#include "gateway/matrix/hash.h"
#include "gateway/matrix/json.h"

namespace bordergate::audit {

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const matrix::Sha256 digest = matrix::sha256(bytes);
  std::string out(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

std::string seal_line(ChainHead& head, std::string_view members) {
  std::string line;
  line.reserve(members.size() + 96);
  line += "{\"seq\":";
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, head.next_seq);
  line.append(buf, r.ptr);
  line += ",\"prev\":\"";
  line += head.last_hash;
  line += '"';
  line += members;
  head.last_hash = sha256_hex(line);
  ++head.next_seq;
  return line;
}

Result<matrix::Json> parse_record_line(std::string_view line) {
  matrix::JsonLimits limits;
  limits.max_depth = 8;
  limits.max_bytes = 1 << 20;
  limits.allow_floats = true;  // only our own fields are checked; others may be anything
  return matrix::parse_json(line, limits);
}

Result<ChainFields> parse_chain_fields(std::string_view line) {
  return chain_fields(parse_record_line(line));
}

Result<ChainFields> chain_fields(const Result<matrix::Json>& parsed) {
  if (!parsed) return make_error("not_json", "not a JSON object: " + parsed.error().message);
  const matrix::JsonObject* obj = parsed->object_if();
  if (obj == nullptr) return make_error("not_object", "the line is JSON but not an object");
  ChainFields f;
  const matrix::Json* seq = parsed->find("seq");
  if (seq == nullptr || !seq->int_if() || *seq->int_if() < 0) {
    return make_error("bad_seq", "\"seq\" is missing or not a non-negative integer");
  }
  f.seq = static_cast<std::uint64_t>(*seq->int_if());
  const matrix::Json* prev = parsed->find("prev");
  const std::string* prev_text = prev ? prev->string_if() : nullptr;
  bool hex = prev_text != nullptr && prev_text->size() == 64;
  if (hex) {
    for (char c : *prev_text) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!hex) return make_error("bad_prev", "\"prev\" is missing or not 64 lower-case hex digits");
  f.prev = *prev_text;
  const auto text = [&](const char* key, std::string& into) {
    if (const matrix::Json* v = parsed->find(key); v && v->string_if()) into = *v->string_if();
  };
  text("type", f.type);
  text("time", f.time);
  text("action", f.action);
  text("reason", f.reason);
  text("actor", f.actor);
  text("policy_sha256", f.policy_sha256);
  text("policy_file", f.policy_file);
  text("policy_revision", f.policy_revision);
  text("trigger", f.trigger);
  if (const matrix::Json* torn = parsed->find("torn_bytes"); torn && torn->int_if()) {
    f.torn_bytes = *torn->int_if();
  }
  text("note", f.note);
  return f;
}

}  // namespace bordergate::audit
