// The plain-data side of the quarantine: status names, the stored header
// encoding and copying a parsed request. No SQLite here.
#include "gateway/quarantine/quarantine_store.h"

namespace bordergate::quarantine {
namespace {

void put_u32(std::string& out, std::size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

}  // namespace

const char* status_name(EntryStatus s) {
  switch (s) {
    case EntryStatus::held:
      return "held";
    case EntryStatus::releasing:
      return "releasing";
    case EntryStatus::released:
      return "released";
    case EntryStatus::dropped:
      return "dropped";
    case EntryStatus::denied:
      return "denied";
    case EntryStatus::evidence:
      return "evidence";
  }
  return "held";
}

const char* verdict_name(StoredVerdict v) {
  switch (v) {
    case StoredVerdict::quarantine:
      return "quarantine";
    case StoredVerdict::deny:
      return "deny";
    case StoredVerdict::redacted:
      return "redacted";
  }
  return "quarantine";
}

EntryStatus first_status(StoredVerdict v) {
  switch (v) {
    case StoredVerdict::quarantine:
      return EntryStatus::held;
    case StoredVerdict::deny:
      return EntryStatus::denied;
    case StoredVerdict::redacted:
      return EntryStatus::evidence;
  }
  return EntryStatus::held;
}

std::optional<EntryStatus> parse_status(std::string_view text) {
  for (EntryStatus s : {EntryStatus::held, EntryStatus::releasing, EntryStatus::released,
                        EntryStatus::dropped, EntryStatus::denied, EntryStatus::evidence}) {
    if (text == status_name(s)) return s;
  }
  return std::nullopt;
}

std::string encode_headers(const std::vector<HeaderField>& headers) {
  std::string out;
  for (const HeaderField& f : headers) {
    put_u32(out, f.name.size());
    out += f.name;
    put_u32(out, f.value.size());
    out += f.value;
  }
  return out;
}

Result<std::vector<HeaderField>> decode_headers(std::string_view blob) {
  std::vector<HeaderField> out;
  auto take = [&blob](std::string& into) {
    if (blob.size() < 4) return false;
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(blob[i]);
    blob.remove_prefix(4);
    if (blob.size() < n) return false;
    into.assign(blob.substr(0, n));
    blob.remove_prefix(n);
    return true;
  };
  while (!blob.empty()) {
    HeaderField f;
    if (!take(f.name) || !take(f.value)) {
      return make_error("quarantine_corrupt", "stored header fields are truncated");
    }
    out.push_back(std::move(f));
  }
  return out;
}

void copy_request(const HttpRequest& request, HeldRequest& out) {
  out.method = request.method;
  out.target = request.target;
  out.headers.assign(request.headers.begin(), request.headers.end());
  out.body = request.body;
}

}  // namespace bordergate::quarantine
