#include "gateway/enforcement/phase_support.h"

#include <chrono>
#include <set>
#include <tuple>

#include "gateway/enforcement/services.h"

namespace bordergate::enforcement::detail {

using matrix::JsonObject;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const std::string* str(const JsonObject& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->second.string_if();
}

bool await_keys(JudgedRequest& r, std::vector<KeyNeed> needs, PhaseEnv& env) {
  std::set<std::tuple<std::string, std::string, std::int64_t>> unique;
  for (KeyNeed& n : needs) {
    // Pinned and cached keys need no wait: asking for them would only bounce the request through
    // the worker's mailbox (an eventfd write and a loop turn) to learn what is known now.
    if (env.keys != nullptr && env.keys->get_key_now(n.server, n.key_id, n.valid_at_ms)) continue;
    unique.emplace(std::move(n.server), std::move(n.key_id), n.valid_at_ms);
  }
  if (unique.empty()) return false;
  if (env.keys == nullptr) {
    // No key store on this worker (its federation state failed to start): nothing can be
    // verified, so the phase answers as for a wait that ran out (401 / 503).
    r.keys_timed_out = true;
    return false;
  }
  r.keys_pending = static_cast<std::uint32_t>(unique.size());
  r.keys_timed_out = false;
  const std::uint32_t wait = ++r.key_wait;
  std::weak_ptr<int> alive = r.alive;
  JudgedRequest* req = &r;
  for (const auto& [server, key_id, at] : unique) {
    env.keys->get_key(server, key_id, at, env.mailbox,
                      [alive, req, wait, resume = env.resume](Result<matrix::VerifyKey>) {
                        // The request may have ended (client gone) while the fetch ran,
                        // or stopped waiting (timeout).
                        if (alive.expired() || req->key_wait != wait) return;
                        if (--req->keys_pending == 0) resume();
                      });
  }
  return true;
}

matrix::KeyLookup cached_keys(const PhaseEnv& env) {
  if (env.keys == nullptr) {
    return [](std::string_view, std::string_view, std::int64_t) -> Result<matrix::VerifyKey> {
      return make_error("key_unavailable", "no key store on this worker");
    };
  }
  return env.keys->cached_lookup();
}

const std::string& receiver(const JudgedRequest& r) {
  return outbound(r) ? r.destination : r.services->server_name;
}

Outcome bad_json(std::string reason) {
  return Outcome::respond(400, "M_BAD_JSON", std::move(reason));
}

}  // namespace bordergate::enforcement::detail
