// PDU checks on arbitrary JSON objects, for every room version. Properties: nothing crashes;
// the direct redacted-bytes writer equals canonical JSON of the redacted tree; redaction is
// idempotent; the fast size measure equals the encoder's; check_pdu's event id equals
// compute_event_id's.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/matrix/event.h"
#include "gateway/matrix/redaction.h"
#include "gateway/matrix/server_keys.h"

namespace m = bordergate::matrix;

namespace {

const m::StaticKeyRing& ring() {
  static const m::StaticKeyRing keys = [] {
    m::StaticKeyRing r;
    // A fixed key so signatures in the corpus can verify and reach the verify path.
    std::uint8_t seed[32] = {1, 2, 3};
    auto key = m::SigningKey::from_seed("fuzz", seed);
    if (!key || !r.add("origin.example", key->key_id(), key->verify_key()).ok()) std::abort();
    return r;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = m::parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed || !parsed->is_object()) return 0;
  const m::JsonObject& event = *parsed->object_if();

  auto canonical = m::canonical_json(*parsed);
  if (!canonical || m::canonical_pdu_size(event) != canonical->size()) std::abort();

  for (const m::RoomVersionRules& rules : m::known_room_versions()) {
    m::PduCheck check = m::check_pdu(event, rules, ring().lookup());

    auto tree = m::redact_event(event, rules);
    std::string bytes;
    bordergate::Status written = m::append_redacted_signing_bytes(bytes, event, rules);
    // Parsed JSON is always canonical-able, so both fail only on a missing type/content.
    if (tree.ok() != written.ok()) std::abort();
    if (!tree.ok()) continue;
    auto from_tree = m::signing_bytes(*tree);
    if (!from_tree || *from_tree != bytes) std::abort();

    auto again = m::redact_event(*tree, rules);
    if (!again || *again != *tree) std::abort();

    auto id = m::compute_event_id(event, rules);
    if (id.ok() != check.event_id.has_value() || (id.ok() && *id != *check.event_id)) {
      std::abort();
    }
  }
  return 0;
}
