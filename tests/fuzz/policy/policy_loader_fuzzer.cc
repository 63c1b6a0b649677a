// libFuzzer target: arbitrary bytes as a policy file. A policy that loads is also
// evaluated against a few requests and explained, so the compiled structures the loader
// builds are exercised too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/evaluate.h"
#include "policy/explain.h"
#include "policy/loader.h"

using namespace bordergate::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  LoadOutput out =
      load_policy_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  for (const Diagnostic& d : out.diagnostics) (void)d.to_string();
  if (!out.ok()) return 0;
  const Policy& p = *out.policy;

  RequestFacts f;
  f.origin = "a.partner.example:8448";
  f.endpoint = FederationEndpoint::send;
  f.pdus = {{"m.room.message", "!r:core.example", "@u:a.partner.example", {}, {}},
            {"org.custom.x", "!AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", "@v:b", {}, {}}};
  f.edus = {{"m.typing", "!r:core.example", "@u:a.partner.example", {}}};
  Decision d = evaluate(p, f);
  (void)explain_text(p, f, d);

  RequestFacts k;
  k.endpoint = FederationEndpoint::key_query;
  (void)evaluate(p, k);

  RequestFacts o;
  o.direction = Direction::outbound;
  o.destination = "[2001:db8::1]";
  o.endpoint = FederationEndpoint::invite;
  o.invite_sender = "@a:core.example";
  o.invite_target = "@B:x.example";
  o.room_id = "!room:x.example";
  (void)evaluate(p, o);
  return 0;
}
