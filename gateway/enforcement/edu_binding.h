// EDU facts and origin binding (federation-notes §6.2, §10.1): EDUs carry no signature of their
// own, so every user id that acts in one must belong to the server that signed the transaction.
#pragma once

#include <string_view>

#include "gateway/matrix/json.h"
#include "policy/facts.h"

namespace bordergate::enforcement {

// The server name part of a user id "@local:server[:port]"; empty when it is not one.
std::string_view user_server(std::string_view user_id);
// Server names compare case-insensitively (DNS); ports must match exactly.
bool same_server(std::string_view a, std::string_view b);

// Facts of one EDU of a /send transaction from `origin`. origin_binding:
//   passed  every acting user id of a bound type belongs to origin
//           (m.typing user_id, m.receipt users, m.presence push[].user_id,
//            m.device_list_update / m.signing_key_update / org.matrix.signing_key_update user_id,
//            m.direct_to_device sender)
//   failed  one does not, or the field is missing / not a string / content malformed
//   not_run other EDU types (no user id the spec binds)
// room_id / user_id name the first room / user the EDU acts on (for room and user rules).
policy::EduFacts edu_facts(const matrix::Json& edu, std::string_view origin);

}  // namespace bordergate::enforcement
