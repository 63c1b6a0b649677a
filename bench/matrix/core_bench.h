// Shared inputs of the core benchmarks: a realistic ~2 KiB PDU and a /send transaction body
// carrying it, as JSON text (so parse costs are part of what is measured).
#pragma once

#include <string>

namespace bordergate::matrix::bench {

// An m.room.message PDU whose canonical form is about 2 KiB.
std::string pdu_2kib_text();
// {"origin":..,"origin_server_ts":..,"pdus":[<pdu_2kib_text()>],"edus":[typing]}.
std::string transaction_text();

}  // namespace bordergate::matrix::bench
