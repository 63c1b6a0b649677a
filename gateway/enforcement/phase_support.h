// What the enforcement phases share (request_phases.cc, item_phases.cc): the clock, small
// string helpers, the key wait, and who the request is addressed to. Internal to
// bg_enforcement.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/enforcement/phases.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/signed_json.h"

namespace bordergate::enforcement::detail {

std::int64_t now_ms();
std::string lower_ascii(std::string_view s);
const std::string* str(const matrix::JsonObject& o, std::string_view key);

// Asks the key store for every key in `needs` (deduplicated); the request suspends until all
// answers arrived. Returns false when nothing had to be asked.
bool await_keys(JudgedRequest& r, std::vector<KeyNeed> needs, PhaseEnv& env);
// The keys at hand (pinned and cached), or none without a key store.
matrix::KeyLookup cached_keys(const PhaseEnv& env);

inline bool outbound(const JudgedRequest& r) { return r.direction == policy::Direction::outbound; }
// The server the request is addressed to: the Core inbound, the tunnel's server outbound.
const std::string& receiver(const JudgedRequest& r);
// 400 M_BAD_JSON with `reason`.
Outcome bad_json(std::string reason);

}  // namespace bordergate::enforcement::detail
