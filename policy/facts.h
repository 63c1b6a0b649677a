// What the gateway knows about one request, as a plain struct: the input of evaluate().
// Filled by the classifier and the body inspector; no connection objects, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/endpoint.h"
#include "policy/model.h"

namespace bordergate::policy {

enum class CheckResult : std::uint8_t { not_run, passed, failed };

// One PDU inside the request body (a /send transaction, a send_join/invite event ...).
struct PduFacts {
  std::string event_type;
  std::string room_id;
  std::string sender;
  CheckResult hashes = CheckResult::not_run;
  CheckResult signatures = CheckResult::not_run;
  // Larger than the 64 KiB a PDU may be (as canonical JSON, federation-notes): refused as
  // pdu_too_large whatever the required checks say.
  bool too_large = false;
};

// One EDU inside a /send transaction. room_id / user_id are the ids the EDU acts on
// (typing: room + user; presence, device lists: user; to-device: sender).
struct EduFacts {
  std::string edu_type;
  std::string room_id;
  std::string user_id;
  CheckResult origin_binding = CheckResult::not_run;
};

struct MediaFacts {
  std::optional<std::uint64_t> size;
  std::string content_type;
};

struct RequestFacts {
  Direction direction = Direction::inbound;
  // X-Matrix origin for inbound requests; nullopt when the request carries no X-Matrix
  // (key endpoints, discovery): the origin is then *unknown*.
  std::optional<std::string> origin;
  // The server the request is addressed to: the remote peer for outbound requests.
  std::string destination;
  FederationEndpoint endpoint = FederationEndpoint::send;

  // Path parameters (empty = absent).
  std::string room_id;
  std::string user_id;
  std::string event_id;
  std::string server_name;

  // Invites (endpoint invite): the inviting and the invited user.
  std::string invite_sender;
  std::string invite_target;

  std::vector<PduFacts> pdus;
  std::vector<EduFacts> edus;
  // Counts as declared by the body; default to pdus.size() / edus.size().
  std::optional<std::uint32_t> pdu_count;
  std::optional<std::uint32_t> edu_count;
  std::uint64_t body_bytes = 0;
  std::optional<MediaFacts> media;
  CheckResult x_matrix = CheckResult::not_run;

  // The servers with a joined member in the path's room, as the gateway has seen the room's
  // membership (membership events and answers crossing it); nullopt = the room is not known.
  // What room_members_outside_federations judges.
  std::optional<std::vector<std::string>> room_servers;

  // The server this request is exchanged with: origin inbound, destination outbound.
  std::optional<std::string> peer() const {
    if (direction == Direction::inbound) return origin;
    if (destination.empty()) return std::nullopt;
    return destination;
  }
};

}  // namespace bordergate::policy
