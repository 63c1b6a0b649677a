// Server-key answers the Core asked an external server for (docs/outbound.md, "Answers"): a
// /_matrix/key/v2/server answer must be the destination's own keys, self-signed by every key it
// lists; a notary answer (/_matrix/key/v2/query) must hold only self-signed key objects that the
// notary, the destination, signed too. The Core checks this itself; the border checks it first
// so that no forged key reaches the Core and a server serving bad keys leaves evidence.
#pragma once

#include "gateway/matrix/signed_json.h"
#include "gateway/outbound/response_check.h"

namespace bordergate::outbound {

// For in.asked.endpoint key_server or key_query (every route: /server, /server/{keyId},
// /query/{serverName}[/{keyId}] where every entry must be of the server asked (queried_server),
// and POST /query) and a 2xx answer. The notary's keys come from
// `keys` (pinned or cached; taken whatever their validity: the Core judges validity at its own
// clock): on a first run (keys_awaited false) keys not at hand are asked for with need_keys.
// Refusals: 502 M_UNKNOWN, reason "response_keys_invalid" (or "response_malformed").
ResponseCheck check_key_answer(const ResponseCheckInput& in, const matrix::KeyLookup& keys);

}  // namespace bordergate::outbound
